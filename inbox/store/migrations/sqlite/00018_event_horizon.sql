-- PostgreSQL's version 18 lets event writers run in parallel (an event
-- horizon instead of a lock). SQLite has one writer, whose commits are in
-- id order already: nothing changes here; the file keeps the versions of
-- both dialects the same.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
