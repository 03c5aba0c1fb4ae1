using System.Text;
using AuditPipeline.Core.Contract;
using Npgsql;

namespace AuditPipeline.Core.Store;

/// <summary>One link of the delegation path, from the human to the action.</summary>
public sealed record DelegationLink(string Kind, string Id, string? Detail);

/// <summary>
/// The answer to "why was this action authorized?": the full path from the human through the
/// delegation chain and the agent to the action, the policy decision with its approvals and
/// grant, and the event's place and hashes in its agent's chain, re-checked against the store.
/// </summary>
public sealed record WhyAuthorized(
    Guid EventId, AgentActionOccurred Event, IReadOnlyList<DelegationLink> Path,
    long GlobalSeq, long Version, DateTimeOffset RecordedAt, string PrevHash, string Hash,
    bool HashMatchesContents, bool LinksToPreviousEvent, bool StoredInHotStore = true)
{
    /// <summary>The sealed month (yyyy-MM) it was answered from when its month is no longer in the hot store.</summary>
    public string? ArchivedMonth { get; init; }

    public bool IntegrityVerified => HashMatchesContents && LinksToPreviousEvent;
}

/// <summary>Reads the authorization index (kept by the read-model projection).</summary>
public sealed class WhyAuthorizedQuery(NpgsqlDataSource dataSource)
{
    public async Task<WhyAuthorized?> FindAsync(Guid eventId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("why_authorized"));
        cmd.Parameters.AddWithValue("event_id", eventId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var (seq, agentId, version, recordedAt) = (reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
        var payload = Encoding.UTF8.GetBytes(reader.GetString(4));
        var (prevHash, hash) = (reader.GetFieldValue<byte[]>(5), reader.GetFieldValue<byte[]>(6));
        var e = ContractJson.Deserialize(payload);

        // Integrity from the store itself, not from the read model's copy.
        var storedPresent = !reader.IsDBNull(7);
        var hashMatches = storedPresent
            && ChainHash.Compute(reader.GetFieldValue<byte[]>(9), agentId, version, eventId, reader.GetString(8), recordedAt,
                   Encoding.UTF8.GetBytes(reader.GetString(7))).AsSpan().SequenceEqual(reader.GetFieldValue<byte[]>(10))
            && reader.GetFieldValue<byte[]>(10).AsSpan().SequenceEqual(hash);
        var previous = version == 1 ? ChainHash.Genesis.ToArray() : reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11);
        var links = storedPresent && previous is not null && previous.AsSpan().SequenceEqual(reader.GetFieldValue<byte[]>(9));

        return new WhyAuthorized(eventId, e, PathOf(e), seq, version, recordedAt,
            Convert.ToHexStringLower(prevHash), Convert.ToHexStringLower(hash), hashMatches, links, storedPresent);
    }

    /// <summary>
    /// The same answer for an event of a month dropped from the hot store, from its archive segment:
    /// the chain hash is recomputed from the archived bytes and the link checked against the
    /// segment (auditctl archive verify proves the segment itself against its signed checkpoint).
    /// </summary>
    public static WhyAuthorized? FromArchive(Retention.ArchiveLayout archive, Guid eventId)
    {
        if (archive.FindEvent(eventId) is not { } a || a.EventType != AgentActionOccurred.TypeName)
        {
            return null;
        }
        var e = ContractJson.Deserialize(a.Payload);
        var hashMatches = ChainHash.Compute(a.PrevHash, a.Stream, a.Version, a.EventId, a.EventType, a.RecordedAt, a.Payload).AsSpan().SequenceEqual(a.Hash);
        var expected = a.Version == 1 ? ChainHash.Genesis.ToArray() : a.ExpectedPrevHash;
        return new WhyAuthorized(eventId, e, PathOf(e), a.Position, a.Version, a.RecordedAt, Convert.ToHexStringLower(a.PrevHash), Convert.ToHexStringLower(a.Hash),
            hashMatches, expected is not null && expected.AsSpan().SequenceEqual(a.PrevHash), StoredInHotStore: false) { ArchivedMonth = a.Month };
    }

    /// <summary>The path human → delegations → agent → action → decision → policy → approvals → grant, from the event alone.</summary>
    public static List<DelegationLink> PathOf(AgentActionOccurred e)
    {
        var path = new List<DelegationLink>();
        if (e.Delegation.OnBehalfOf is { } human && (e.Delegation.Chain.Count == 0 || e.Delegation.Chain[0].Id != human))
        {
            path.Add(new("human", human, "on whose behalf the agent acts"));
        }
        path.AddRange(e.Delegation.Chain.Select(a => new DelegationLink(WireNames.Of(a.Type), a.Id, a.Name)));
        if (e.Delegation.ParentAgentId is { } parent)
        {
            path.Add(new("agent", parent, "parent agent that spawned it"));
        }
        path.Add(new("agent", e.Agent.Id, $"{e.Agent.Name}, owner {e.Agent.Owner ?? "NONE (unowned)"}"));
        path.Add(new("action", $"{e.Action.Operation} {e.Action.Resource.Type}:{e.Action.Resource.Id}",
            $"{WireNames.Of(e.Action.Resource.Sensitivity)} via {e.Action.Tool ?? "-"}"));
        var authz = e.Authorization;
        path.Add(new("decision", WireNames.Of(authz.Decision), authz.Reason));
        path.Add(new("policy", $"{authz.PolicyId}@{authz.PolicyVersion}", authz.Rule is null ? null : $"rule {authz.Rule}"));
        path.AddRange(authz.Approvals.Select(a => new DelegationLink("approval", a.Approver, $"approved at {a.ApprovedAt:O}")));
        if (authz.GrantExpiresAt is { } expiry)
        {
            path.Add(new("grant", $"expires {expiry:O}", null));
        }
        return path;
    }
}
