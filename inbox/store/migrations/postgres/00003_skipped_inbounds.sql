-- Inbounds that cannot be stored for a reason in the data itself, recorded
-- so that the connector can acknowledge them and move on.

-- +goose Up
CREATE TABLE skipped_inbounds (
    id bigserial PRIMARY KEY,
    connector text NOT NULL,
    external_id text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE skipped_inbounds;
