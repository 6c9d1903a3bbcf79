"""A small orders API: create, list and fetch orders, kept in memory."""

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI(title="Orders API")


class OrderIn(BaseModel):
    item: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class Order(OrderIn):
    id: int


_orders: dict[int, Order] = {}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders", status_code=201)
def create_order(order: OrderIn) -> Order:
    created = Order(id=len(_orders) + 1, **order.model_dump())
    _orders[created.id] = created
    return created


@app.get("/orders")
def list_orders() -> list[Order]:
    return list(_orders.values())


@app.get("/orders/{order_id}")
def get_order(order_id: int) -> Order:
    if order_id not in _orders:
        raise HTTPException(status_code=404, detail="Order not found")
    return _orders[order_id]
