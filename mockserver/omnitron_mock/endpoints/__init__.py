"""The emulated endpoints' URL table: each route under both prefixes.

Routes are relative to a prefix; the pipeline (:mod:`omnitron_mock.pipeline`)
routes, authenticates, applies faults and journals for every route here.
"""

from __future__ import annotations

from omnitron_mock.endpoint import Endpoint
from omnitron_mock.endpoints import auth, order_items, orders

# /api/i1 is the integration prefix of Akinon's docs; /api/v1 the one its Python SDK uses.
PREFIXES = ("/api/i1", "/api/v1")

ENDPOINTS: dict[str, Endpoint] = {
    "auth/login/": Endpoint(
        "Obtain Auth Token",
        {"POST": auth.login},
        public=True,
        request_contract="login-request",
    ),
    "active_user/": Endpoint("Active User", {"GET": auth.active_user}),
    "order_items/bulk_status_update/": Endpoint(
        "Order Item Bulk Status Update",
        {"PATCH": order_items.bulk_status_update},
        request_contract="bulk-status-update-request",
    ),
    "order_items/<item_id>/create_mapping/": Endpoint(
        "Order Item Create Mapping",
        {"POST": order_items.create_mapping},
        request_contract="create-mapping-request",
    ),
    "order_items/<item_id>/": Endpoint(
        "Order Item Detail",
        {"GET": order_items.order_item_detail, "PATCH": order_items.order_item_update},
        request_contract="order-item-update-request",
    ),
    "order_items/": Endpoint("Order Item List", {"GET": order_items.order_item_list}),
    "orders/<order_id>/": Endpoint(
        "Order Detail",
        {"GET": orders.order_detail, "PATCH": orders.order_update},
        request_contract="order-update-request",
    ),
    "orders/": Endpoint("Order List", {"GET": orders.order_list}),
    "order_number/<number>/": Endpoint("Order Number Detail", {"GET": orders.order_by_number}),
}

# Tenant mode finds a login's tenant by the username in its body.
LOGIN = ENDPOINTS["auth/login/"]
