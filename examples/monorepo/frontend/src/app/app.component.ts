import { Component, computed, signal } from '@angular/core';

export interface OrderLine {
  item: string;
  quantity: number;
}

@Component({
  selector: 'app-root',
  template: `
    <h1>Orders</h1>
    <ul>
      @for (line of lines(); track line.item) {
        <li>{{ line.item }} × {{ line.quantity }}</li>
      }
    </ul>
    <p class="total">{{ total() }} items</p>
  `,
})
export class AppComponent {
  readonly lines = signal<OrderLine[]>([]);
  readonly total = computed(() => this.lines().reduce((sum, line) => sum + line.quantity, 0));

  add(item: string, quantity: number): void {
    if (!item.trim() || quantity <= 0) {
      return;
    }
    this.lines.update((lines) => [...lines, { item: item.trim(), quantity }]);
  }
}
