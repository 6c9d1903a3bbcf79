import { TestBed } from '@angular/core/testing';

import { AppComponent } from './app.component';

describe('AppComponent', () => {
  beforeEach(async () => {
    await TestBed.configureTestingModule({ imports: [AppComponent] }).compileComponents();
  });

  it('adds lines and totals their quantities', () => {
    const component = TestBed.createComponent(AppComponent).componentInstance;
    component.add('coffee', 2);
    component.add('tea', 3);
    expect(component.total()).toBe(5);
  });

  it('ignores empty items and non-positive quantities', () => {
    const component = TestBed.createComponent(AppComponent).componentInstance;
    component.add('  ', 1);
    component.add('tea', 0);
    expect(component.lines()).toEqual([]);
  });
});
