"""Error messages as users paste them, for ``pgferry doctor``'s tests and docs.

Prisma's come from the shapes its engines print (prisma-engines'
user-facing-errors before Prisma 7; @prisma/driver-adapter-utils and
@prisma/adapter-pg with driver adapters, Prisma 6 and 7), wrapped in the
``Invalid `prisma.x.y()` invocation`` preamble, the call site and the error
object Node prints.  PostgreSQL's are the server's wording as psql, psycopg and
node-postgres show it.  The dump tools' were captured from pg_dump 18.4,
psql 15.18 and pg_restore 15.18.  The names fit the schema in test_doctor.py.
"""

from __future__ import annotations

P2002_FIELDS = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.create()` invocation in
/app/src/routes/orders.ts:31:40

  28 router.post("/orders", async (req, res) => {
  29   const { clientId, total } = req.body;
  30   try {
→ 31     const order = await prisma.order.create(
Unique constraint failed on the fields: (`id`)
    at _n.handleRequestError (/app/node_modules/@prisma/client/runtime/library.js:121:7749)
    at _n.handleAndLogRequestError (/app/node_modules/@prisma/client/runtime/library.js:121:7057)
    at _n.request (/app/node_modules/@prisma/client/runtime/library.js:121:6741)
    at async l (/app/node_modules/@prisma/client/runtime/library.js:130:9355) {
  code: 'P2002',
  clientVersion: '5.22.0',
  meta: { modelName: 'Order', target: [ 'id' ] }
}
"""

P2002_PRISMA7 = """\
PrismaClientKnownRequestError:
Invalid `prisma.orderItem.create()` invocation in
/app/src/services/cart.ts:58:42

  55   for (const line of cart.lines) {
  56     await tx.orderItem.create({
→ 58       data: { orderId: order.id, sku: line.sku, qty: line.qty },
Unique constraint failed on the constraint: `order_items_pkey`
    at ei.handleRequestError (/app/node_modules/@prisma/client/runtime/client.js:65:8249)
    at async Object.create (/app/src/services/cart.ts:56:5) {
  code: 'P2002',
  meta: {
    modelName: 'OrderItem',
    driverAdapterError: DriverAdapterError: UniqueConstraintViolation
        at PrismaPgAdapter.onError (/app/node_modules/@prisma/adapter-pg/dist/index.js:612:11) {
      cause: {
        originalCode: '23505',
        originalMessage: 'duplicate key value violates unique constraint "order_items_pkey"',
        kind: 'UniqueConstraintViolation',
        constraint: { index: 'order_items_pkey' }
      }
    }
  },
  clientVersion: '7.0.1'
}
"""

P2002_CODE_ONLY = """\
PrismaClientKnownRequestError: the request failed
  code: 'P2002',
  meta: { target: [ 'id' ] }
"""

PG_23505 = """\
ERROR:  duplicate key value violates unique constraint "Order_pkey"
DETAIL:  Key (id)=(5) already exists.
"""

PG_23505_EMAIL = """\
psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "Client_email_key"
DETAIL:  Key (email)=(c1@example.com) already exists.
"""

P2003_FIELD = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.create()` invocation in
/app/src/routes/orders.ts:31:40

→ 31     const order = await prisma.order.create(
Foreign key constraint failed on the field: `Order_clientId_fkey (index)`
    at _n.handleRequestError (/app/node_modules/@prisma/client/runtime/library.js:121:7749) {
  code: 'P2003',
  clientVersion: '5.22.0',
  meta: { modelName: 'Order', field_name: 'Order_clientId_fkey (index)' }
}
"""

P2003_PRISMA7 = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.create()` invocation in
/app/src/routes/orders.ts:31:40

Foreign key constraint violated on the constraint: `Order_clientId_fkey`
    at ei.handleRequestError (/app/node_modules/@prisma/client/runtime/client.js:65:8249) {
  code: 'P2003',
  meta: {
    modelName: 'Order',
    driverAdapterError: DriverAdapterError: ForeignKeyConstraintViolation {
      cause: {
        originalCode: '23503',
        originalMessage: 'insert or update on table "Order" violates foreign key constraint "Order_clientId_fkey"',
        kind: 'ForeignKeyConstraintViolation',
        constraint: { index: 'Order_clientId_fkey' }
      }
    }
  },
  clientVersion: '7.0.1'
}
"""  # noqa: E501

PG_23503 = """\
error: insert or update on table "Order" violates foreign key constraint "Order_clientId_fkey"
    at /app/node_modules/pg/lib/client.js:526:17 {
  length: 275,
  severity: 'ERROR',
  code: '23503',
  detail: 'Key (clientId)=(19) is not present in table "Client".',
  schema: 'public',
  table: 'Order',
  constraint: 'Order_clientId_fkey',
}
"""

PG_23503_DELETE = """\
ERROR:  update or delete on table "Client" violates foreign key constraint "Order_clientId_fkey" on table "Order"
DETAIL:  Key (id)=(1) is still referenced from table "Order".
"""  # noqa: E501

P2021 = """\
PrismaClientKnownRequestError:
Invalid `prisma.auditLog.findMany()` invocation in
/app/src/routes/admin.ts:12:38

→ 12   const logs = await prisma.auditLog.findMany(
The table `public.AuditLog` does not exist in the current database.
    at _n.handleRequestError (/app/node_modules/@prisma/client/runtime/library.js:121:7749) {
  code: 'P2021',
  clientVersion: '5.22.0',
  meta: { modelName: 'AuditLog', table: 'public.AuditLog' }
}
"""

PG_42P01 = """\
ERROR:  relation "AuditLog" does not exist
LINE 1: SELECT * FROM "AuditLog" ORDER BY id DESC LIMIT 50
                      ^
"""

P2022 = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.findMany()` invocation in
/app/src/routes/orders.ts:18:37

The column `Order.couponCode` does not exist in the current database.
    at _n.handleRequestError (/app/node_modules/@prisma/client/runtime/library.js:121:7749) {
  code: 'P2022',
  clientVersion: '5.22.0',
  meta: { modelName: 'Order', column: 'Order.couponCode' }
}
"""

P2022_NOT_AVAILABLE = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.findMany()` invocation in
/app/src/routes/orders.ts:18:37

The column `(not available)` does not exist in the current database.
    at ei.handleRequestError (/app/node_modules/@prisma/client/runtime/client.js:65:8249) {
  code: 'P2022',
  meta: { modelName: 'Order', driverAdapterError: DriverAdapterError: ColumnNotFound },
  clientVersion: '7.0.1'
}
"""

PG_42703 = """\
ERROR:  column "couponCode" of relation "Order" does not exist
LINE 1: INSERT INTO "Order" ("clientId", "couponCode") VALUES ($1, $2)
                                         ^
"""

PG_42703_ALIAS = """\
ERROR:  column o.couponCode does not exist
LINE 1: SELECT o."couponCode" FROM "Order" o
               ^
"""

PG_ENUM = """\
ERROR:  invalid input value for enum "Role": "AUDITOR"
CONTEXT:  COPY Order, line 1, column role: "AUDITOR"
"""

P2007_PRISMA7_ENUM = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.update()` invocation in
/app/src/routes/orders.ts:44:32

Invalid input value: invalid input value for enum "Role": "AUDITOR"
  code: 'P2007',
  meta: { modelName: 'Order', driverAdapterError: DriverAdapterError: InvalidInputValue },
  clientVersion: '7.0.1'
"""

PRISMA4_ENUM = r"""PrismaClientUnknownRequestError:
Invalid `prisma.order.update()` invocation:


Error occurred during query execution:
ConnectorError(ConnectorError { user_facing_error: None, kind: QueryError(Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E22P02), message: "invalid input value for enum \"Role\": \"AUDITOR\"", detail: None, hint: None, position: None, where_: None, schema: None, table: None, column: None, datatype: None, constraint: None, file: Some("enum.c"), line: Some(133), routine: Some("enum_in") }) }), transient: false })
"""  # noqa: E501

PG_22008 = """\
psql:orders.sql:3: ERROR:  date/time field value out of range: "25/12/2023 10:00"
HINT:  Perhaps you need a different "datestyle" setting.
CONTEXT:  COPY Order, line 1, column createdAt: "25/12/2023 10:00"
"""

PG_22007 = """\
psycopg.errors.InvalidDatetimeFormat: invalid input syntax for type timestamp: "2024-13-45T99"
LINE 1: ...INTO "Order" ("clientId", "createdAt") VALUES (1, '2024-13-45...
                                                             ^
"""

PG_22P02_INTEGER = """\
ERROR:  invalid input syntax for type integer: "SKU-17"
CONTEXT:  COPY order_items, line 1, column qty: "SKU-17"
"""

P2023 = """\
PrismaClientKnownRequestError:
Invalid `prisma.order.findMany()` invocation in
/app/src/routes/orders.ts:18:37

Inconsistent column data: Conversion failed: expected a datetime string in column 'createdAt', found infinity
  code: 'P2023',
  clientVersion: '5.11.0',
  meta: {
    modelName: 'Order',
    message: "Conversion failed: expected a datetime string in column 'createdAt', found infinity"
  }
"""  # noqa: E501

P2023_INT = """\
Invalid `prisma.orderItem.findMany()` invocation:

Inconsistent column data: Conversion failed: Value 3746274089 does not fit in an INT column, try migrating the 'qty' column type to BIGINT.
  code: 'P2023'
"""  # noqa: E501

PG_DUMP_MISMATCH = """\
pg_dump: error: aborting because of server version mismatch
pg_dump: detail: server version: 18.4; pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
"""

TRANSACTION_TIMEOUT = """\
SET
SET
psql:dump.sql:13: ERROR:  unrecognized configuration parameter "transaction_timeout"
SET
"""

RESTRICT = """\
psql:dump.sql:5: error: invalid command \\restrict
psql:dump.sql:26: ERROR:  relation "Client" already exists
"""

ARCHIVE_VERSION = "pg_restore: error: unsupported version (1.16) in file header\n"

NOT_RECOGNISED = """\
TypeError: Cannot read properties of undefined (reading 'id')
    at createOrder (/app/src/routes/orders.ts:33:22)
"""
