-- One row per agent action, projected from the event store in log order. Runs on ClickHouse
-- 18.16 and current versions: no DateTime64 (times are DateTime plus epoch milliseconds), no
-- Map/JSON, money as integer micro-dollars (text Float64 is imprecise).
CREATE TABLE IF NOT EXISTS agent_actions
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agent_id, occurred_at, global_seq)
