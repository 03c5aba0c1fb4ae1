-- Per agent x resource: first and last seen and how often. Read with minMerge/maxMerge/countMerge.
CREATE MATERIALIZED VIEW IF NOT EXISTS agent_resources
ENGINE = AggregatingMergeTree
ORDER BY (agent_id, resource_type, resource_id)
AS SELECT
    agent_id,
    resource_type,
    resource_id,
    anyState(sensitivity) AS sensitivity,
    minState(occurred_at_ms) AS first_seen_ms,
    maxState(occurred_at_ms) AS last_seen_ms,
    countState() AS actions
FROM agent_actions
GROUP BY agent_id, resource_type, resource_id
