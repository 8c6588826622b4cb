-- The example's source: an application's accounts (updated in place) and events (append-only) in PostgreSQL.
--   psql -h 127.0.0.1 -U postgres -d test -v schema=app -f examples/postgres-incremental/seed.sql
DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET search_path TO :"schema";
CREATE TABLE accounts (
  id integer PRIMARY KEY, name text NOT NULL, plan text NOT NULL, seats integer NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX ON accounts (updated_at, id);
CREATE TABLE events (
  id bigint PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id), kind text NOT NULL, payload jsonb,
  occurred_at timestamptz NOT NULL
);
-- Many accounts share an updated_at: keyset pagination on (updated_at, id) must neither skip nor repeat them.
INSERT INTO accounts SELECT i, 'Account ' || i, (ARRAY['free', 'team', 'enterprise'])[1 + i % 3], 1 + i % 50,
  timestamptz '2024-01-01 00:00:00+00' + ((i / 10) || ' minutes')::interval FROM generate_series(1, 5000) i;
INSERT INTO events SELECT i, 1 + i % 5000, (ARRAY['login', 'invite', 'upgrade', 'export'])[1 + i % 4],
  jsonb_build_object('ip', '10.0.' || (i % 255) || '.' || (i % 7), 'ok', i % 9 <> 0),
  timestamptz '2024-01-01 00:00:00+00' + (i || ' seconds')::interval FROM generate_series(1, 100000) i;
