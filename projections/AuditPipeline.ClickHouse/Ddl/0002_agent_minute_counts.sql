-- Per agent, per minute, per decision: filled by ClickHouse from every insert into agent_actions.
-- Rows for one key are summed when parts merge; always read with sum() ... GROUP BY.
CREATE MATERIALIZED VIEW IF NOT EXISTS agent_minute_counts
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, minute, decision)
AS SELECT
    agent_id,
    toStartOfMinute(occurred_at) AS minute,
    decision,
    count() AS actions,
    sum(input_tokens + output_tokens) AS tokens,
    sum(cost_micro_usd) AS cost_micro_usd
FROM agent_actions
GROUP BY agent_id, minute, decision
