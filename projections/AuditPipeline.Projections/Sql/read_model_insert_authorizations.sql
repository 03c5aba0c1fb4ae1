INSERT INTO audit_read.authorizations (event_id, global_seq, agent_id, version, occurred_at, recorded_at, on_behalf_of,
                                       decision, policy_id, policy_version, payload, prev_hash, hash)
SELECT * FROM unnest(@event_ids::uuid[], @seqs::bigint[], @agents::text[], @versions::bigint[], @occurred::timestamptz[],
                     @recorded::timestamptz[], @humans::text[], @decisions::text[], @policies::text[], @policy_versions::text[],
                     @payloads::json[], @prev_hashes::bytea[], @hashes::bytea[])
ON CONFLICT (event_id) DO NOTHING
