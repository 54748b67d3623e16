-- Events become visible in id order without a lock that serialises the
-- writers (until now every event writer took one advisory lock until its
-- commit). Readers read only up to a horizon below which no transaction
-- still running can commit an event id (see inbox/store/horizon.go), using
-- the transaction ids PostgreSQL exposes: pg_current_xact_id() and the
-- xmin/xmax of pg_current_snapshot(), as in Oskar Dudycz, "How Postgres
-- sequences issues can impact your messaging guarantees" (event-driven.io,
-- 2022), adapted to keep a single increasing event id.

-- +goose Up
-- +goose StatementBegin
-- An event's id is taken after its transaction has a transaction id, so a
-- reader that sees the transaction finished (below a snapshot's xmin)
-- knows that every id it took is decided.
CREATE FUNCTION tongdao_event_id() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN nextval('events_id_seq');
END $$;
-- +goose StatementEnd
ALTER TABLE events ALTER COLUMN id SET DEFAULT tongdao_event_id();

-- +goose StatementBegin
-- tongdao_event_watermark returns, in this order: the oldest transaction id
-- still running (every transaction below it has ended); the sequence's last
-- event id; and a transaction id given to this call after it read that id
-- (every transaction that took an event id up to last_id has a lower one).
-- Each expression of a PL/pgSQL function (VOLATILE) takes a new snapshot,
-- so each is read after the one before. Call it outside any transaction:
-- the transaction id it takes must be a new one. A snapshot's xmax is not
-- used instead: it is one past the newest transaction that has ended, and a
-- transaction still running may have a higher id.
CREATE FUNCTION tongdao_event_watermark(OUT oldest xid8, OUT last_id bigint, OUT xid xid8)
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    oldest := pg_snapshot_xmin(pg_current_snapshot());
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO last_id FROM events_id_seq;
    xid := pg_current_xact_id();
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Every statement that writes events tells the other replicas at commit
-- (LISTEN tongdao_events), whatever code wrote them.
CREATE FUNCTION tongdao_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tongdao_events', '');
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION tongdao_events_notify();

-- +goose Down
DROP TRIGGER events_notify ON events;
DROP FUNCTION tongdao_events_notify();
DROP FUNCTION tongdao_event_watermark();
ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq');
DROP FUNCTION tongdao_event_id();
