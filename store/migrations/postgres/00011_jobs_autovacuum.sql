-- +goose Up
-- The jobs table is a queue: every claim, delivery and deletion leaves a
-- dead row version, and a claim walks over the dead entries at the head
-- of the waiting jobs' index until a vacuum clears them. PostgreSQL's own
-- upkeep is tuned for it, as queue tables usually are: vacuum after a fixed
-- number of dead rows (not a fraction of a table that is nearly empty
-- between floods), without the cost-based pauses that spread a vacuum over
-- minutes, and analyse as often, so that the planner keeps using the index.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 1000
);

-- +goose Down
ALTER TABLE jobs RESET (
    autovacuum_vacuum_scale_factor,
    autovacuum_vacuum_threshold,
    autovacuum_vacuum_insert_scale_factor,
    autovacuum_vacuum_insert_threshold,
    autovacuum_vacuum_cost_delay,
    autovacuum_analyze_scale_factor,
    autovacuum_analyze_threshold
);
