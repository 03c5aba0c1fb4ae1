-- Adds a batch's per-agent totals; the caller only counts events above each agent's last_global_seq.
INSERT INTO audit_read.agents AS a (agent_id, name, owner, team, risk_tier, model_versions, first_seen, last_seen,
                                    actions, denied, cost_micro_usd, unowned, last_global_seq)
SELECT u.agent_id, u.name, u.owner, u.team, u.risk_tier, string_to_array(u.model_versions, E'\x1f'), u.first_seen, u.last_seen,
       u.actions, u.denied, u.cost, u.owner IS NULL, u.last_seq
FROM unnest(@ids::text[], @names::text[], @owners::text[], @teams::text[], @tiers::text[], @models::text[],
            @firsts::timestamptz[], @lasts::timestamptz[], @actions::bigint[], @denied::bigint[], @costs::bigint[], @seqs::bigint[])
     AS u(agent_id, name, owner, team, risk_tier, model_versions, first_seen, last_seen, actions, denied, cost, last_seq)
ON CONFLICT (agent_id) DO UPDATE SET
    name = EXCLUDED.name,
    owner = EXCLUDED.owner,
    team = EXCLUDED.team,
    risk_tier = EXCLUDED.risk_tier,
    model_versions = ARRAY(SELECT DISTINCT v FROM unnest(a.model_versions || EXCLUDED.model_versions) AS v ORDER BY v),
    first_seen = least(a.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(a.last_seen, EXCLUDED.last_seen),
    actions = a.actions + EXCLUDED.actions,
    denied = a.denied + EXCLUDED.denied,
    cost_micro_usd = a.cost_micro_usd + EXCLUDED.cost_micro_usd,
    unowned = EXCLUDED.unowned,
    last_global_seq = EXCLUDED.last_global_seq
WHERE a.last_global_seq < EXCLUDED.last_global_seq
