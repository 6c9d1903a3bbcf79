from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health():
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_create_and_fetch_an_order():
    created = client.post("/orders", json={"item": "coffee", "quantity": 2})
    assert created.status_code == 201
    order_id = created.json()["id"]
    fetched = client.get(f"/orders/{order_id}")
    assert fetched.json() == {"id": order_id, "item": "coffee", "quantity": 2}


def test_rejects_a_zero_quantity():
    response = client.post("/orders", json={"item": "tea", "quantity": 0})
    assert response.status_code == 422


def test_unknown_order_is_404():
    assert client.get("/orders/999").status_code == 404
