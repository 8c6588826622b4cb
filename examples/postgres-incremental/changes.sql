-- What happens in the application between two runs: some accounts change plan, new events arrive.
--   psql -h 127.0.0.1 -U postgres -d test -v schema=app -f examples/postgres-incremental/changes.sql
SET search_path TO :"schema";
UPDATE accounts SET plan = 'enterprise', seats = seats + 10, updated_at = now() WHERE id % 100 = 0;
INSERT INTO events SELECT 100000 + i, 1 + i % 5000, 'upgrade', jsonb_build_object('ip', '10.1.0.' || i % 255, 'ok', true),
  now() FROM generate_series(1, 2500) i;
