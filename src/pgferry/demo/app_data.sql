-- Production's rows for the demo.  Parameters: clients, users, products,
-- orders, items (row counts, filled in with psycopg.sql).  Ids are explicit.
INSERT INTO clients (id, name, email, "parentId", "createdAt")
SELECT g, 'Client ' || g, 'client' || g || '@example.com',
       CASE WHEN g > 10 AND g % 7 = 0 THEN g / 7 END,
       timestamp '2020-01-01' + g * interval '1 minute'
FROM generate_series(1, {clients}) g;

INSERT INTO users (id, "clientId", email, "lastLoginAt", settings)
SELECT g, 1 + g % {clients}, 'user' || g || '@example.com',
       timestamptz '2024-01-01 00:00+00' + g * interval '1 second',
       jsonb_build_object('theme', CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END)
FROM generate_series(1, {users}) g;

UPDATE clients SET "ownerUserId" = id WHERE id <= {users} AND id % 5 = 0;

INSERT INTO products (id, sku, title, price)
SELECT g, 'SKU-' || g, 'Product ' || g, (g % 997) + 0.99
FROM generate_series(1, {products}) g;

INSERT INTO "Order" (id, "clientId", "userId", status, total, "createdAt")
SELECT g, 1 + g % {clients}, 1 + g % {users},
       (ARRAY['PENDING', 'PAID', 'SHIPPED', 'CANCELLED']::"OrderStatus"[])[1 + g % 4],
       (g % 100000) / 100.0, timestamp '2022-01-01' + g * interval '1 second'
FROM generate_series(1, {orders}) g;

INSERT INTO order_items ("orderId", "productId", quantity, "unitPrice")
SELECT 1 + g % {orders}, 1 + g % {products}, 1 + g % 5, (g % 997) + 0.99
FROM generate_series(1, {items}) g;

-- Production is healthy: its sequences are past every id.
SELECT setval('clients_id_seq', {clients}), setval('users_id_seq', {users}),
       setval('products_id_seq', {products}), setval('"Order_id_seq"', {orders});
ANALYZE;
