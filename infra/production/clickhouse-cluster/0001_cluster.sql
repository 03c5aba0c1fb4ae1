-- The projection's ClickHouse tables on a cluster (docs/operations.md, "ClickHouse cluster").
-- Replace auditpipeline_cluster with your cluster's name; {shard} and {replica} are macros each
-- server defines. Each table has a replicated *_local table per shard and a Distributed table
-- with the single-server name, so the projector and the query API use the names they always do.
-- The projector writes one block per batch and skips positions already present: insert with
-- insert_distributed_sync = 1 (set it in the projector's user profile) so a batch is written to
-- its shards before the insert returns.

CREATE TABLE IF NOT EXISTS agent_actions_local ON CLUSTER auditpipeline_cluster
(
    global_seq      UInt64,
    version         UInt64,
    event_id        String,
    agent_id        String,
    agent_name      String,
    owner           String,
    team            String,
    on_behalf_of    String,
    operation       String,
    tool            String,
    resource_type   String,
    resource_id     String,
    sensitivity     String,
    decision        String,
    policy_id       String,
    policy_version  String,
    rule            String,
    input_tokens    UInt64,
    output_tokens   UInt64,
    cost_micro_usd  UInt64,
    duration_ms     UInt64,
    outcome         String,
    occurred_at     DateTime,
    occurred_at_ms  UInt64,
    recorded_at_ms  UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/agent_actions_local', '{replica}')
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agent_id, occurred_at, global_seq);

-- An agent's rows stay on one shard: per-agent queries touch one shard, views stay per agent.
CREATE TABLE IF NOT EXISTS agent_actions ON CLUSTER auditpipeline_cluster AS agent_actions_local
ENGINE = Distributed(auditpipeline_cluster, currentDatabase(), agent_actions_local, cityHash64(agent_id));

CREATE TABLE IF NOT EXISTS agent_minute_counts_local ON CLUSTER auditpipeline_cluster
(
    agent_id        String,
    minute          DateTime,
    decision        String,
    actions         UInt64,
    tokens          UInt64,
    cost_micro_usd  UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/agent_minute_counts_local', '{replica}')
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, minute, decision);

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_minute_counts_mv ON CLUSTER auditpipeline_cluster
TO agent_minute_counts_local
AS SELECT
    agent_id,
    toStartOfMinute(occurred_at) AS minute,
    decision,
    count() AS actions,
    sum(input_tokens + output_tokens) AS tokens,
    sum(cost_micro_usd) AS cost_micro_usd
FROM agent_actions_local
GROUP BY agent_id, minute, decision;

CREATE TABLE IF NOT EXISTS agent_minute_counts ON CLUSTER auditpipeline_cluster AS agent_minute_counts_local
ENGINE = Distributed(auditpipeline_cluster, currentDatabase(), agent_minute_counts_local, cityHash64(agent_id));

CREATE TABLE IF NOT EXISTS agent_resources_local ON CLUSTER auditpipeline_cluster
(
    agent_id        String,
    resource_type   String,
    resource_id     String,
    sensitivity     AggregateFunction(any, String),
    first_seen_ms   AggregateFunction(min, UInt64),
    last_seen_ms    AggregateFunction(max, UInt64),
    actions         AggregateFunction(count)
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/agent_resources_local', '{replica}')
ORDER BY (agent_id, resource_type, resource_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_resources_mv ON CLUSTER auditpipeline_cluster
TO agent_resources_local
AS SELECT
    agent_id,
    resource_type,
    resource_id,
    anyState(sensitivity) AS sensitivity,
    minState(occurred_at_ms) AS first_seen_ms,
    maxState(occurred_at_ms) AS last_seen_ms,
    countState() AS actions
FROM agent_actions_local
GROUP BY agent_id, resource_type, resource_id;

CREATE TABLE IF NOT EXISTS agent_resources ON CLUSTER auditpipeline_cluster AS agent_resources_local
ENGINE = Distributed(auditpipeline_cluster, currentDatabase(), agent_resources_local, cityHash64(agent_id));
