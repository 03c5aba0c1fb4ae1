using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AuditPipeline.Access;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>
/// Issue 14's attack suite, against real PostgreSQL and the real API: what an attacker holding one
/// service's database credential (or the archive folder) can try, and that each attempt is refused
/// or detected and named. Every "verified" here has its tampered twin.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class AttackSuiteTests(ApiFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-attack-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>Writes no service role may make, whatever else it may do.</summary>
    private static readonly string[] ForbiddenToEveryService =
    [
        "UPDATE audit.events SET payload = '{}' WHERE true",
        "DELETE FROM audit.events",
        "TRUNCATE audit.events",
        "UPDATE audit.log_head SET next_seq = next_seq + 10",
        "SELECT next_seq FROM audit.log_head FOR UPDATE",
        "UPDATE audit.stream_heads SET version = version + 1",
        "INSERT INTO audit.stream_heads (stream_id, version, hash, global_seq, updated_at) VALUES ('ghost', 9, decode(repeat('00', 32), 'hex'), 1, now())",
        "DELETE FROM audit.event_ids",
        "INSERT INTO audit_admin.api_keys (key_id, salt, secret_hash, owner, roles, created_at) VALUES ('aaaaaaaaaaaa', decode(repeat('00', 16), 'hex'), decode(repeat('00', 32), 'hex'), 'mallory', '{admin}', now())",
        "UPDATE audit_admin.api_keys SET revoked_at = NULL",
        "UPDATE audit_admin.api_keys SET roles = '{admin}'",
        "UPDATE audit.merkle_nodes SET hash = hash",
        "INSERT INTO audit.agent_scope (agent_id, team, owner, pinned_at, pinned_by) VALUES ('agent-x', 'marketing', NULL, now(), 1)",
        "UPDATE audit.agent_scope SET team = 'marketing'",
        "INSERT INTO audit.append_rights (role_name, event_type, stream_pattern) VALUES (current_user, 'agent-scope.v1', '.*')",
        "UPDATE audit.legal_holds SET released_at = now()",
        "DELETE FROM audit.legal_holds",
        "UPDATE audit.subject_keys SET wrapped_key = NULL",
        "UPDATE audit.checkpoints SET signature = 'x'",
        "DELETE FROM audit.checkpoints",
        "INSERT INTO audit.dropped_months (month, manifest_sha256, dropped_at, dropped_by) VALUES ('2020-01-01', decode(repeat('00', 32), 'hex'), now(), 'x')",
        "SELECT audit.append_commit_checked(1, 2, now(), false)",
        // Rows outside an append (never checked, never reaching the log head): refused for every role.
        "INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash) VALUES (1000000, 's', 1, gen_random_uuid(), 't', now(), now(), '{}', decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))",
        "INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash) VALUES (-5, 'agent-0000', 2, gen_random_uuid(), 'agent-action.v1', now(), now(), '{}', decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))",
        "INSERT INTO audit.event_ids (event_id, global_seq) VALUES (gen_random_uuid(), 999999)",
        "SELECT audit.append_internal('api keys', 'api-key.v1', gen_random_uuid(), now(), '{}')",
    ];

    /// <summary>Writes only some services make; every other service is refused.</summary>
    private static readonly (string Sql, ServiceRole[] Allowed)[] ForbiddenToOthers =
    [
        ("INSERT INTO audit.merkle_nodes (level, idx, hash) VALUES (40, 0, decode(repeat('11', 32), 'hex'))", [ServiceRole.Projector]),
        ("UPDATE audit_read.authorizations SET decision = 'deny'", [ServiceRole.Projector]),
        ("INSERT INTO audit.quarantine (quarantined_at, source_topic, source_partition, source_offset, reason_code, reason, raw_size, raw_sha256, raw_truncated, raw) VALUES (now(), 't', 0, 0, 'x', 'x', 0, '\\x00', false, '\\x00')", [ServiceRole.Ingest]),
        ("INSERT INTO audit.sealed_months (month, segment, manifest_sha256, events, checkpoint_size, sealed_at, sealed_by) VALUES ('2020-01-01', 's', decode(repeat('00', 32), 'hex'), 0, 0, now(), 'x')", [ServiceRole.Ops]),
        ("SELECT audit_admin.create_api_key(gen_random_uuid(), '{\"action\":\"created\",\"key_id\":\"bbbbbbbbbbbb\",\"owner\":\"mallory\",\"roles\":[\"admin\"],\"teams\":[],\"owners\":[],\"at\":\"2026-01-01T00:00:00Z\"}', decode(repeat('00', 16), 'hex'), decode(repeat('00', 32), 'hex'))", [ServiceRole.Ops]),
        ("SELECT audit.release_legal_hold(gen_random_uuid(), now(), 'x', 'y')", [ServiceRole.Ops]),
        ("INSERT INTO audit.subject_keys (key_id, subject_ref, wrapped_key, created_at) VALUES (gen_random_uuid(), decode(repeat('00', 32), 'hex'), decode(repeat('00', 92), 'hex'), now())", [ServiceRole.Ingest]),
    ];

    [Fact]
    public async Task Every_service_credential_is_refused_every_write_it_must_not_make()
    {
        var store = await fx.NewStoreAsync();
        await SeedAsync(store);
        var refusals = new List<string>();
        var allowed = new List<string>();
        foreach (var role in Enum.GetValues<ServiceRole>())
        {
            await using var ds = store.DataSource(role);
            var forbidden = ForbiddenToEveryService.Concat(ForbiddenToOthers.Where(f => !f.Allowed.Contains(role)).Select(f => f.Sql));
            foreach (var sql in forbidden)
            {
                await using var conn = await ds.OpenConnectionAsync();
                await using var tx = await conn.BeginTransactionAsync();
                await using var cmd = new NpgsqlCommand(sql, conn, tx);
                try
                {
                    await cmd.ExecuteNonQueryAsync();
                    allowed.Add($"{role} was allowed: {sql}");
                }
                catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.InsufficientPrivilege)
                {
                    refusals.Add($"{role}: {sql[..Math.Min(40, sql.Length)]}");
                }
                catch (PostgresException error)
                {
                    allowed.Add($"{role}: {sql} failed with {error.SqlState} {error.MessageText}, not a refusal");
                }
            }
        }
        Assert.True(allowed.Count == 0, string.Join("\n", allowed));
        Assert.True(refusals.Count > 5 * ForbiddenToEveryService.Length);
        // Nothing changed: the chains verify and the log is as long as it was.
        await using var reader = store.DataSource(ServiceRole.Api);
        var report = await new ChainVerifier(reader).VerifyAsync(new VerifyScope(), default);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
    }

    [Fact]
    public async Task Each_service_may_append_only_its_own_events()
    {
        var store = await fx.NewStoreAsync();
        var fleet = new SampleFleet(2, seed: 71);
        var agent = fleet.Agents[0];
        var incident = Guid.NewGuid();
        var opened = TestScenarios.VolumeAlert(incident, agent.Id, DateTimeOffset.UtcNow);
        var acked = TestScenarios.VolumeAlert(incident, agent.Id, DateTimeOffset.UtcNow, AlertChange.Acknowledged, "oncall@example.com") with { EventId = Guid.NewGuid() };

        async Task<PostgresException?> AppendAs(ServiceRole role, IncomingEvent e)
        {
            await using var ds = store.DataSource(role);
            try
            {
                await new PostgresEventStore(ds, TimeProvider.System).AppendAsync([e], [], default);
                return null;
            }
            catch (PostgresException ex)
            {
                return ex;
            }
        }
        IncomingEvent Alert(AgentAlert a) => AlertEvent(a);
        var action = TestEvents.Incoming(fleet.Next(agent, DateTimeOffset.UtcNow));
        var disguised = TestEvents.Incoming(fleet.Next(agent, DateTimeOffset.UtcNow)) with { StreamId = "api mallory" };

        Assert.Null(await AppendAs(ServiceRole.Ingest, action));
        Assert.Null(await AppendAs(ServiceRole.Detector, Alert(opened)));
        Assert.Null(await AppendAs(ServiceRole.Api, Alert(acked)));
        foreach (var (role, e, what) in new[]
                 {
                     (ServiceRole.Ingest, Alert(opened with { EventId = Guid.NewGuid() }), "an emitter's credential writing an alert"),
                     (ServiceRole.Ingest, disguised, "an action disguised in an API caller's chain"),
                     (ServiceRole.Detector, TestEvents.Incoming(fleet.Next(agent, DateTimeOffset.UtcNow)), "the detector writing an action"),
                     (ServiceRole.Detector, Alert(acked with { EventId = Guid.NewGuid() }), "the detector acknowledging for a person"),
                     (ServiceRole.Api, Alert(opened with { EventId = Guid.NewGuid() }), "the API opening an alert"),
                     (ServiceRole.Api, TestEvents.Incoming(fleet.Next(agent, DateTimeOffset.UtcNow)), "the API writing an action"),
                     (ServiceRole.Ingest, ScopeChange(agent.Id, "marketing", null), "an emitter's credential moving an agent's scope"),
                 })
        {
            var refused = await AppendAs(role, e);
            Assert.True(refused is { SqlState: PostgresErrorCodes.InsufficientPrivilege }, $"{what} was not refused ({refused?.MessageText ?? "appended"})");
            Assert.Contains("may not append", refused!.MessageText, StringComparison.Ordinal);
        }
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.events"));
    }

    [Fact]
    public async Task Log_and_chain_heads_cannot_be_advanced_by_hand_or_past_a_broken_chain()
    {
        var store = await fx.NewStoreAsync();
        var fleet = new SampleFleet(2, seed: 72);
        await using var ds = store.DataSource(ServiceRole.Ingest);
        await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(TestEvents.ForAgent(fleet, fleet.Agents[0], 3), [], default);

        async Task<PostgresException> Refused(string sql)
        {
            await using var conn = await ds.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            await using var begin = new NpgsqlCommand("SELECT audit.append_begin()", conn, tx);
            var next = (long)(await begin.ExecuteScalarAsync())!;
            await using var cmd = new NpgsqlCommand(sql.Replace("@next", next.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), conn, tx);
            return await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteNonQueryAsync());
        }

        // A jump of the log head over positions that hold nothing.
        var gap = await Refused("SELECT audit.append_commit(@next, @next + 5, now())");
        Assert.Contains("did not open an append at", gap.MessageText, StringComparison.Ordinal);
        // An event inserted with a made-up prev_hash, then committed: the chain does not continue.
        var broken = await Refused($"""
            INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
                VALUES (@next, '{fleet.Agents[0].Id}', 4, '{Guid.NewGuid()}', 'agent-action.v1', '2026-12-01T00:00:00Z', now(), '{"{}"}', decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 32), 'hex'));
            INSERT INTO audit.event_ids (event_id, global_seq) SELECT event_id, global_seq FROM audit.events WHERE global_seq = @next;
            SELECT audit.append_commit(@next, @next + 1, now());
            """);
        Assert.Contains("does not continue its chain", broken.MessageText, StringComparison.Ordinal);
        // A second version 1 of an existing chain (a fork) is refused the same way.
        var fork = await Refused($"""
            INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
                VALUES (@next, '{fleet.Agents[0].Id}', 1, '{Guid.NewGuid()}', 'agent-action.v1', '2026-12-01T00:00:00Z', now(), '{"{}"}', decode(repeat('00', 32), 'hex'), decode(repeat('cd', 32), 'hex'));
            INSERT INTO audit.event_ids (event_id, global_seq) SELECT event_id, global_seq FROM audit.events WHERE global_seq = @next;
            SELECT audit.append_commit(@next, @next + 1, now());
            """);
        Assert.Contains("does not continue its chain", fork.MessageText, StringComparison.Ordinal);
        // Back-dated into the past (a month that may already be sealed): refused before anything else.
        var backdated = await Refused($"""
            INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
                VALUES (@next, '{fleet.Agents[0].Id}', 4, '{Guid.NewGuid()}', 'agent-action.v1', now() - interval '1 hour', now() - interval '1 hour', '{"{}"}', decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 32), 'hex'));
            INSERT INTO audit.event_ids (event_id, global_seq) SELECT event_id, global_seq FROM audit.events WHERE global_seq = @next;
            SELECT audit.append_commit(@next, @next + 1, now() - interval '1 hour');
            """);
        Assert.Contains("before the newest append", backdated.MessageText, StringComparison.Ordinal);
        // Inside an append, a row placed before the append's first position (e.g. at -5 beside an old version).
        var before = await Refused($"""
            INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
                VALUES (-5, '{fleet.Agents[0].Id}', 2, '{Guid.NewGuid()}', 'agent-action.v1', '2026-12-01T00:00:00Z', now(), '{"{}"}', decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 32), 'hex'));
            """);
        Assert.Contains("lies before this append's first position", before.MessageText, StringComparison.Ordinal);
        // Rows inserted in an append that is never committed through append_commit cannot commit.
        await using (var conn = await ds.OpenConnectionAsync())
        {
            await using var tx = await conn.BeginTransactionAsync();
            await using var cmd = new NpgsqlCommand($"""
                SELECT audit.append_begin();
                INSERT INTO audit.events (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash)
                    SELECT next_seq, 'ghost-agent', 1, '{Guid.NewGuid()}', 'agent-action.v1', now(), now(), '{"{}"}', decode(repeat('00', 32), 'hex'), decode(repeat('cd', 32), 'hex') FROM audit.log_head;
                """, conn, tx);
            await cmd.ExecuteNonQueryAsync();
            var uncommitted = await Assert.ThrowsAsync<PostgresException>(() => tx.CommitAsync());
            Assert.Contains("not committed through audit.append_commit", uncommitted.MessageText, StringComparison.Ordinal);
        }
        Assert.Equal(4, await store.CountAsync("SELECT next_seq FROM audit.log_head"));
    }

    [Fact]
    public async Task Key_creation_and_revocation_are_recorded_in_the_store_and_a_revoked_key_cannot_be_revived()
    {
        var store = await fx.NewStoreAsync();
        await using var ops = store.DataSource(ServiceRole.Ops);
        var keys = new ApiKeyStore(ops, TimeProvider.System);
        var (key, _) = await keys.CreateAsync("carol@example.com", [Roles.Auditor], ["payments"], [], "attack suite", null, "ops@example.com", default);
        Assert.True(await keys.RevokeAsync(key.KeyId, "ops@example.com", default));
        Assert.False(await keys.RevokeAsync(key.KeyId, "ops@example.com", default));

        var records = await store.CountAsync($"SELECT count(*) FROM audit.events WHERE stream_id = 'api keys' AND payload->>'key_id' = '{key.KeyId}'");
        Assert.Equal(2, records);
        // The chain the database wrote (hashed in SQL) verifies with the same code as every other chain.
        var report = await new ChainVerifier(ops).VerifyAsync(new VerifyScope("api keys", null, null), default);
        Assert.True(report.Intact && report.EventsChecked == 2, string.Join("\n", report.Breaks));

        // Even the schema owner cannot bring the key back: the trigger holds for every role.
        var revive = await Assert.ThrowsAsync<PostgresException>(() => store.ExecAsAdminAsync($"UPDATE audit_admin.api_keys SET revoked_at = NULL WHERE key_id = '{key.KeyId}'"));
        Assert.Contains("can only be revoked, once", revive.MessageText, StringComparison.Ordinal);
        // A key row slipped in by the owner without its event is caught by comparing keys with the log.
        await store.ExecAsAdminAsync("INSERT INTO audit_admin.api_keys (key_id, salt, secret_hash, owner, roles, created_at) VALUES ('cccccccccccc', decode(repeat('00', 16), 'hex'), decode(repeat('00', 32), 'hex'), 'mallory', '{admin}', now())");
        Assert.Equal(1, await store.CountAsync(
            "SELECT count(*) FROM audit_admin.api_keys k WHERE NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.stream_id = 'api keys' AND e.payload->>'key_id' = k.key_id AND e.payload->>'action' = 'created')"));
    }

    [Fact]
    public async Task Edited_read_model_copy_is_named_and_never_shown_as_verified()
    {
        var (store, approved) = await ApprovedTransferAsync();
        await using var api = fx.CreateFactory(store, new Dictionary<string, string>());
        var token = await TokenAsync(store, []);
        var before = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.True(before.GetProperty("integrity").GetProperty("verified").GetBoolean());

        // The reproduction from the issue, as the projector (the role that owns the read models).
        await using (var projector = store.DataSource(ServiceRole.Projector))
        await using (var cmd = projector.CreateCommand(
            "UPDATE audit_read.authorizations SET payload = replace(payload::text, 'bob@example.com', 'cfo@example.com')::json, decision = 'deny', policy_version = 'v99' WHERE event_id = @id"))
        {
            cmd.Parameters.AddWithValue("id", approved.EventId);
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
        }
        var after = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        var integrity = after.GetProperty("integrity");
        Assert.False(integrity.GetProperty("verified").GetBoolean());
        var problems = string.Join("\n", integrity.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
        Assert.Contains("approval 'cfo@example.com'", problems, StringComparison.Ordinal);
        Assert.Contains("decision is 'deny' there but 'allow' in the store", problems, StringComparison.Ordinal);
        Assert.Contains("policy version is 'v99'", problems, StringComparison.Ordinal);
        // What is shown is the store's event, not the forged copy.
        var approvers = after.GetProperty("path").EnumerateArray().Where(l => l.GetProperty("kind").GetString() == "approval").Select(l => l.GetProperty("id").GetString()).ToList();
        Assert.Equal(["bob@example.com"], approvers);
        Assert.DoesNotContain("cfo@example.com", after.GetProperty("authorization").GetRawText(), StringComparison.Ordinal);

        // Deleting the index row hides nothing: the store is searched by id.
        await store.ExecAsAdminAsync($"DELETE FROM audit_read.authorizations WHERE event_id = '{approved.EventId}'");
        var unindexed = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.True(unindexed.GetProperty("integrity").GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task Edited_stored_event_is_not_verified()
    {
        var (store, approved) = await ApprovedTransferAsync();
        await using var api = fx.CreateFactory(store, new Dictionary<string, string>());
        var token = await TokenAsync(store, []);
        // A superuser can bypass the triggers; the chain hash still catches it.
        await store.ExecAsAdminAsync($"""
            SET session_replication_role = replica;
            UPDATE audit.events SET payload = replace(payload::text, 'bob@example.com', 'cfo@example.com')::json WHERE event_id = '{approved.EventId}';
            """);
        var after = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.False(after.GetProperty("integrity").GetProperty("verified").GetBoolean());
        Assert.Contains(after.GetProperty("integrity").GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("does not match its chain hash", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_checkpoint_planted_under_another_key_never_makes_a_proof_verified()
    {
        var (store, approved) = await ApprovedTransferAsync();
        await using (var projector = store.DataSource(ServiceRole.Projector))
        {
            await new CheckpointService(projector, fx.Signer, []).CreateAsync(null, "attack suite", default);
        }
        await using var api = fx.CreateFactory(store, new Dictionary<string, string>());
        using var auditor = ApiFixture.Bearer(api, await TokenAsync(store, []));
        var genuine = await auditor.GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/proof");
        Assert.True(genuine.GetProperty("verified").GetBoolean());

        // With the API's own credential (it may record checkpoints it signs), a checkpoint over the
        // true root at a later size, signed by the attacker's key, with that key beside it.
        await using (var apiRole = store.DataSource(ServiceRole.Api))
        {
            var size = await new StoredMerkleTree(apiRole).LogSizeAsync(default);
            using var mallory = CheckpointSigner.Generate();
            var forged = mallory.Sign(size, await new StoredMerkleTree(apiRole).RootAsync(size, default), DateTimeOffset.UtcNow);
            Assert.True(await new CheckpointLog(apiRole).InsertAsync(forged, mallory.PublicKeyPem, "mallory", default));
        }
        var latest = await auditor.GetFromJsonAsync<JsonElement>("/v1/checkpoints/latest");
        Assert.False(latest.GetProperty("verified").GetBoolean());
        Assert.Contains("not a trusted key", latest.GetProperty("problem").GetString(), StringComparison.Ordinal);
        var listed = (await auditor.GetFromJsonAsync<JsonElement>("/v1/checkpoints")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([false, true], listed.Select(c => c.GetProperty("verified").GetBoolean()));
        var planted = await auditor.GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/proof");
        Assert.False(planted.GetProperty("verified").GetBoolean());
        Assert.Contains("not a trusted key", planted.GetProperty("problem").GetString(), StringComparison.Ordinal);
        // The genuine checkpoint still proves it.
        var pinned = await auditor.GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/proof?checkpoint={genuine.GetProperty("treeSize").GetInt64()}");
        Assert.True(pinned.GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task Planted_merkle_node_never_gets_a_genuine_signature()
    {
        var store = await fx.NewStoreAsync();
        await using (var seed = store.SeedDataSource())
        {
            await new PostgresEventStore(seed, TimeProvider.System).AppendAsync(TestEvents.AcrossFleet(new SampleFleet(4, seed: 73), 600), [], default);
        }
        await using var projector = store.DataSource(ServiceRole.Projector);
        // Planted before the projection reaches those leaves, as the projector's credential allows.
        await using (var plant = projector.CreateCommand("INSERT INTO audit.merkle_nodes (level, idx, hash) VALUES (8, 0, decode(repeat('66', 32), 'hex'))"))
        {
            await plant.ExecuteNonQueryAsync();
        }
        var tree = new StoredMerkleTree(projector);
        // 300 leaves: the root is built on the stored (planted) node of leaves 0..255.
        var forgedRoot = await tree.RootAsync(300, default);
        var genuine = new MerkleTree();
        await foreach (var (position, chainHash) in StoredMerkleTree.ReadLeavesAsync(projector, 1, 300, default))
        {
            genuine.Append(StoredMerkleTree.LeafHash(position, chainHash));
        }
        Assert.NotEqual(Convert.ToHexStringLower(genuine.Root(300)), Convert.ToHexStringLower(forgedRoot));

        var service = new CheckpointService(projector, fx.Signer, []);
        var refused = await Assert.ThrowsAsync<TreeTamperedException>(() => service.SignAsync(300, forgedRoot, "attack", default));
        Assert.Contains("stored Merkle nodes were altered", refused.Message, StringComparison.Ordinal);
        var signed = await service.CreateAsync(300, "attack", default);
        Assert.Equal(Convert.ToHexStringLower(genuine.Root(300)), signed.RootHash);

        // The projection stops at the planted node instead of building on it.
        var projection = new MerkleTreeProjection(projector, NullLogger.Instance);
        var stopped = await Assert.ThrowsAsync<TreeTamperedException>(() => new StoreSubscription(projector, MerkleTreeProjection.SubscriptionName, projection.HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default));
        Assert.Contains("(level 8, index 0)", stopped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edited_archived_line_with_its_hash_recomputed_is_not_verified_and_index_paths_are_checked()
    {
        var store = await fx.NewStoreAsync();
        await using var ds = store.SeedDataSource();
        await using var owner = store.AdminDataSource();
        var clock = new ManualClock(new DateTimeOffset(2026, 9, 12, 12, 0, 0, TimeSpan.Zero));
        var events = new PostgresEventStore(ds, clock);
        var fleet = new SampleFleet(3, seed: 74);
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 60), [], default);
        var (_, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], clock.Now);
        await events.AppendAsync([TestEvents.Incoming(approved)], [], default);
        clock.Now = DateTimeOffset.UtcNow;
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 30), [], default);
        await ApiFixture.ProjectReadModelsAndTreeAsync(ds);
        var archive = new ArchiveLayout(Path.Combine(_work, "archive"));
        var retention = new RetentionService(ds, events, clock);
        await retention.SealAsync(new DateOnly(2026, 9, 1), archive, new BundleExporter(ds, new CheckpointService(ds, fx.Signer, []), fx.Signer), "ops@example.com", default);
        await retention.DropAsync(new DateOnly(2026, 9, 1), archive, owner, "ops@example.com", null, default);
        var token = await TokenAsync(store, []);
        await using var api = fx.CreateFactory(store, new Dictionary<string, string> { ["QueryApi:ArchiveDirectory"] = archive.Root });
        var before = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.True(before.GetProperty("integrity").GetProperty("verified").GetBoolean());

        // Rewrite the approver in the archived line and recompute its chain hash, as an attacker
        // with write access to the archive would.
        var segment = archive.SegmentDirectory(new DateOnly(2026, 9, 1));
        var file = Path.Combine(segment, BundleFormat.EventsCompressed);
        var lines = new List<string>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(file), CompressionMode.Decompress)))
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Add(line.Contains(approved.EventId.ToString(), StringComparison.Ordinal) ? Reforge(line) : line);
            }
        }
        await using (var writer = new StreamWriter(new GZipStream(File.Create(file), CompressionLevel.Fastest)))
        {
            foreach (var line in lines)
            {
                await writer.WriteLineAsync(line);
            }
        }
        var after = await ApiFixture.Bearer(api, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.False(after.GetProperty("integrity").GetProperty("verified").GetBoolean());
        Assert.Contains(after.GetProperty("integrity").GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("segment 2026-09 does not verify", StringComparison.Ordinal));

        // The dropped month cannot be recreated in the hot store to answer from there instead.
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        await using (var recreate = ingest.CreateCommand("SELECT audit.ensure_partitions('2026-09-15T00:00:00Z', 0)"))
        {
            var refusedPartition = await Assert.ThrowsAsync<PostgresException>(() => recreate.ExecuteScalarAsync());
            Assert.Contains("dropped from the hot store", refusedPartition.MessageText, StringComparison.Ordinal);
        }

        // An index entry pointing outside the month's place is refused, never followed.
        var indexPath = Path.Combine(archive.Root, ArchiveLayout.IndexFile);
        await File.WriteAllTextAsync(indexPath, (await File.ReadAllTextAsync(indexPath)).Replace("segments/2026/09", "../../etc", StringComparison.Ordinal));
        var refused = Assert.Throws<InvalidDataException>(() => archive.ReadIndex());
        Assert.Contains("the index was altered", refused.Message, StringComparison.Ordinal);
        Assert.False((await ArchiveVerifier.VerifyAsync(archive.Root, fx.Signer.PublicKeyPem)).Ok);
    }

    [Fact]
    public async Task An_event_claiming_another_team_does_not_widen_a_scoped_key()
    {
        var store = await fx.NewStoreAsync();
        var fleet = new SampleFleet(2, seed: 75);
        var agent = fleet.Agents[0] with { Team = "payments" };
        var first = fleet.Next(agent, DateTimeOffset.UtcNow.AddMinutes(-2));
        var claimed = fleet.Next(agent with { Team = "marketing", Owner = "mallory@example.com" }, DateTimeOffset.UtcNow.AddMinutes(-1));
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        {
            await new PostgresEventStore(ingest, TimeProvider.System).AppendAsync([TestEvents.Incoming(first), TestEvents.Incoming(claimed, 1)], [], default);
        }
        await using (var seed = store.SeedDataSource())
        {
            await ApiFixture.ProjectReadModelsAndTreeAsync(seed);
        }
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.agent_scope WHERE agent_id = '{agent.Id}' AND team = 'payments'"));
        await using var api = fx.CreateFactory(store, new Dictionary<string, string>());
        using var marketing = ApiFixture.Bearer(api, await TokenAsync(store, ["marketing"]));
        using var payments = ApiFixture.Bearer(api, await TokenAsync(store, ["payments"]));

        foreach (var url in new[] { $"/v1/agents/{agent.Id}", $"/v1/events/{claimed.EventId}/why", $"/v1/events/{claimed.EventId}/proof" })
        {
            var response = await marketing.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{url}: {response.StatusCode}");
        }
        var page = await marketing.GetFromJsonAsync<JsonElement>("/v1/agents");
        Assert.Empty(page.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await payments.GetAsync($"/v1/events/{claimed.EventId}/why")).StatusCode);

        // The twin: an operator's recorded change moves it, and only then.
        await using (var ops = store.DataSource(ServiceRole.Ops))
        {
            await new PostgresEventStore(ops, TimeProvider.System).AppendAsync([ScopeChange(agent.Id, "marketing", "dana@example.com")], [], default);
        }
        Assert.Equal(HttpStatusCode.OK, (await marketing.GetAsync($"/v1/events/{claimed.EventId}/why")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await payments.GetAsync($"/v1/events/{claimed.EventId}/why")).StatusCode);
    }

    /// <summary>Changes the approver of an archived line (its payload is the verbatim "event" member, last) and recomputes that line's chain hash.</summary>
    private static string Reforge(string line)
    {
        using var header = JsonDocument.Parse(line);
        var h = header.RootElement;
        var at = line.IndexOf("\"event\":", StringComparison.Ordinal) + "\"event\":".Length;
        var payload = line[at..^1].Replace("bob@example.com", "cfo@example.com", StringComparison.Ordinal);
        var oldHash = h.GetProperty("hash").GetString()!;
        var hash = ChainHash.Compute(Convert.FromHexString(h.GetProperty("prevHash").GetString()!), h.GetProperty("stream").GetString()!, h.GetProperty("version").GetInt64(),
            h.GetProperty("eventId").GetGuid(), h.GetProperty("eventType").GetString()!, h.GetProperty("recordedAt").GetDateTimeOffset(), Encoding.UTF8.GetBytes(payload));
        return line[..at].Replace($"\"hash\":\"{oldHash}\"", $"\"hash\":\"{Convert.ToHexStringLower(hash)}\"", StringComparison.Ordinal) + payload + "}";
    }

    private async Task<(TestStore Store, AgentActionOccurred Approved)> ApprovedTransferAsync()
    {
        var store = await fx.NewStoreAsync();
        var fleet = new SampleFleet(2, seed: 76);
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], DateTimeOffset.UtcNow.AddMinutes(-1));
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        {
            await new PostgresEventStore(ingest, TimeProvider.System).AppendAsync([TestEvents.Incoming(denied), TestEvents.Incoming(approved, 1)], [], default);
        }
        await using (var projector = store.DataSource(ServiceRole.Projector))
        {
            await ApiFixture.ProjectReadModelsAndTreeAsync(projector);
        }
        return (store, approved);
    }

    private static async Task SeedAsync(TestStore store)
    {
        await using var seed = store.SeedDataSource();
        var fleet = new SampleFleet(3, seed: 77);
        await new PostgresEventStore(seed, TimeProvider.System).AppendAsync(TestEvents.AcrossFleet(fleet, 300), [], default);
        await ApiFixture.ProjectReadModelsAndTreeAsync(seed);
        await new ApiKeyStore(seed, TimeProvider.System).CreateAsync("victim@example.com", [Roles.Auditor], [], [], "attack suite", null, "test", default);
        await store.ExecAsAdminAsync("INSERT INTO audit.legal_holds (hold_id, agent_id, reason, created_by, created_at) VALUES (gen_random_uuid(), 'agent-0000', 'x', 'x', now())");
    }


    private static IncomingEvent AlertEvent(AgentAlert a)
    {
        var payload = ContractJson.SerializeCanonical(a);
        return new IncomingEvent(a.EventId, AgentAlert.StreamOf(a.IncidentId), AgentAlert.TypeName, a.At, payload, new SourceMessage(new SourcePosition("test", 0, 0), null, payload));
    }

    private static IncomingEvent ScopeChange(string agentId, string? team, string? owner)
    {
        var now = Timestamps.ToUtcMicroseconds(DateTimeOffset.UtcNow);
        var change = new AgentScopeChanged { EventId = Guid.NewGuid(), At = now, AgentId = agentId, Team = team, Owner = owner, Actor = "ops@example.com", Reason = "reorganisation" };
        var payload = ContractJson.SerializeCanonical(change);
        return new IncomingEvent(change.EventId, AgentScopeChanged.StreamOf(agentId), AgentScopeChanged.TypeName, now, payload, new SourceMessage(new SourcePosition("test", 0, 0), null, payload));
    }

    private static async Task<string> TokenAsync(TestStore store, IReadOnlyList<string> teams)
    {
        await using var seed = store.SeedDataSource();
        return (await new ApiKeyStore(seed, TimeProvider.System).CreateAsync("auditor@example.com", [Roles.Auditor], teams, [], "attack suite", null, "test", default)).Token;
    }
}
