using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Retention;
using Npgsql;

namespace AuditPipeline.Queries;

/// <summary>
/// The answer to "why was this action authorized?": the full path from the human through the
/// delegation chain and the agent to the action, the policy decision with its approvals and
/// grant, and the event's place and hashes in its agent's chain. Everything shown is built from
/// the bytes whose hash was checked: the row in audit.events, or an archived line of a segment
/// whose signed manifest and checkpoint were verified. The read model only helps find the event;
/// where its copy differs from the store, the answer is not verified and names each difference.
/// </summary>
public sealed record WhyAuthorized(
    Guid EventId, AgentActionOccurred Event, IReadOnlyList<DelegationLink> Path,
    long GlobalSeq, long Version, DateTimeOffset RecordedAt, string PrevHash, string Hash,
    bool HashMatchesContents, bool LinksToPreviousEvent, bool StoredInHotStore = true)
{
    /// <summary>The sealed month (yyyy-MM) it was answered from when its month is no longer in the hot store.</summary>
    public string? ArchivedMonth { get; init; }

    /// <summary>Where the authorization index's copy differs from the store (empty: it agrees, or has no copy yet).</summary>
    public IReadOnlyList<string> ReadModelDifferences { get; init; } = [];

    /// <summary>Why an archived answer could not be verified against its segment (null: verified, or not archived).</summary>
    public string? ArchiveProblem { get; init; }

    public bool IntegrityVerified => HashMatchesContents && LinksToPreviousEvent && ReadModelDifferences.Count == 0 && ArchiveProblem is null;

    /// <summary>Every reason the answer is not verified, for people (empty when it is).</summary>
    public IReadOnlyList<string> Problems =>
    [
        .. HashMatchesContents ? Array.Empty<string>() : [StoredInHotStore ? "the stored event does not match its chain hash" : "the archived event does not match its chain hash"],
        .. LinksToPreviousEvent ? Array.Empty<string>() : ["the event does not link to the previous event of its chain"],
        .. ReadModelDifferences.Select(d => $"the authorization index differs from the store: {d}"),
        .. ArchiveProblem is null ? Array.Empty<string>() : [ArchiveProblem],
    ];
}

/// <summary>Answers why-authorized for the API, the console and the CLI alike (one service, one set of rules).</summary>
public sealed class WhyAuthorizedQuery(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// The answer from the hot store, or, only when the event's month was dropped from it, from the
    /// archive segment that holds it (found through the id table: one segment is opened, and an
    /// unknown id opens none). Null: no action event with that id.
    /// </summary>
    /// <param name="mayRead">Asked with the event's agent as soon as it is known, before any further work; false answers null, as for an absent event.</param>
    public async Task<WhyAuthorized?> AnswerAsync(Guid eventId, ArchiveLayout? archive, TrustedKeys? trusted, CancellationToken ct,
        Func<string, CancellationToken, Task<bool>>? mayRead = null)
    {
        await using var cmd = dataSource.CreateCommand(QueriesSql.WhyAuthorized);
        cmd.Parameters.AddWithValue("event_id", eventId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        if (!reader.IsDBNull(reader.GetOrdinal("payload")))
        {
            return mayRead is null || await mayRead(reader.GetString(reader.GetOrdinal("stream_id")), ct) ? FromStoreRow(eventId, reader) : null;
        }
        // A changed or deleted hot row is never explained from an archived copy: only a month the
        // store records as dropped is answered from the archive.
        if (reader.IsDBNull(reader.GetOrdinal("dropped_month")) || archive is null)
        {
            return null;
        }
        var month = reader.GetString(reader.GetOrdinal("dropped_month"));
        await reader.DisposeAsync();
        if (archive.FindEvent(eventId, month) is not { } archived || (mayRead is not null && !await mayRead(archived.Stream, ct)))
        {
            return null;
        }
        return await FromArchiveAsync(archive, archived, trusted, ct);
    }

    /// <summary>The hot store's answer only (null: not in the hot store).</summary>
    public Task<WhyAuthorized?> FindAsync(Guid eventId, CancellationToken ct) => AnswerAsync(eventId, null, null, ct);

    private static WhyAuthorized? FromStoreRow(Guid eventId, NpgsqlDataReader r)
    {
        T Get<T>(string column) => r.GetFieldValue<T>(r.GetOrdinal(column));
        bool Null(string column) => r.IsDBNull(r.GetOrdinal(column));
        if (Get<string>("event_type") != AgentActionOccurred.TypeName)
        {
            return null;
        }
        var (position, stream, version, recordedAt) = (Get<long>("position"), Get<string>("stream_id"), Get<long>("version"), Get<DateTimeOffset>("recorded_at"));
        var payloadText = Get<string>("payload");
        var payload = Encoding.UTF8.GetBytes(payloadText);
        var (prevHash, hash) = (Get<byte[]>("prev_hash"), Get<byte[]>("hash"));
        var e = ContractJson.Deserialize(payload);
        var hashMatches = ChainHash.Compute(prevHash, stream, version, eventId, AgentActionOccurred.TypeName, recordedAt, payload).AsSpan().SequenceEqual(hash);
        var previous = version == 1 ? ChainHash.Genesis.ToArray() : Null("previous_event_hash") ? null : Get<byte[]>("previous_event_hash");
        var links = previous is not null && previous.AsSpan().SequenceEqual(prevHash);

        var differences = new List<string>();
        if (Get<bool>("in_read_model"))
        {
            void Compare(string field, object? indexed, object? stored)
            {
                if (!Equals(indexed, stored))
                {
                    differences.Add($"{field} is '{indexed ?? "(none)"}' there but '{stored ?? "(none)"}' in the store");
                }
            }
            Compare("log position", Get<long>("rm_position"), position);
            Compare("agent", Get<string>("rm_agent_id"), stream);
            Compare("version", Get<long>("rm_version"), version);
            Compare("occurred at", Get<DateTimeOffset>("rm_occurred_at"), e.OccurredAt);
            Compare("recorded at", Get<DateTimeOffset>("rm_recorded_at"), recordedAt);
            Compare("on behalf of", Null("rm_on_behalf_of") ? null : Get<string>("rm_on_behalf_of"), e.Delegation.OnBehalfOf);
            Compare("decision", Get<string>("rm_decision"), WireNames.Of(e.Authorization.Decision));
            Compare("policy", Get<string>("rm_policy_id"), e.Authorization.PolicyId);
            Compare("policy version", Get<string>("rm_policy_version"), e.Authorization.PolicyVersion);
            Compare("prev_hash", Convert.ToHexStringLower(Get<byte[]>("rm_prev_hash")), Convert.ToHexStringLower(prevHash));
            Compare("hash", Convert.ToHexStringLower(Get<byte[]>("rm_hash")), Convert.ToHexStringLower(hash));
            if (Get<string>("rm_payload") != payloadText)
            {
                differences.Add($"the event's content differs ({DescribeContentDifference(Get<string>("rm_payload"), e)})");
            }
        }
        return new WhyAuthorized(eventId, e, DelegationPath.Of(e), position, version, recordedAt,
            Convert.ToHexStringLower(prevHash), Convert.ToHexStringLower(hash), hashMatches, links) { ReadModelDifferences = differences };
    }

    /// <summary>Names the parts of the path an edited copy would show differently (approvers, decision, policy, …).</summary>
    private static string DescribeContentDifference(string indexedPayload, AgentActionOccurred stored)
    {
        AgentActionOccurred indexed;
        try
        {
            indexed = ContractJson.Deserialize(Encoding.UTF8.GetBytes(indexedPayload));
        }
        catch (System.Text.Json.JsonException)
        {
            return "the index's copy is not a valid event";
        }
        var theirs = DelegationPath.Of(indexed);
        var ours = DelegationPath.Of(stored);
        var changed = theirs.Except(ours).Select(l => $"{l.Kind} '{l.Id}'").Concat(ours.Except(theirs).Select(l => $"{l.Kind} '{l.Id}' missing")).ToList();
        return changed.Count > 0 ? $"the index shows {string.Join(", ", changed)}" : "fields outside the authorization path";
    }

    /// <summary>
    /// The same answer for an event of a month dropped from the hot store, from its archive segment.
    /// The segment is verified first (signed manifest, file hashes, signed checkpoint, chains: the
    /// same checks as auditctl archive verify, against the trusted key), then the line's chain hash is
    /// recomputed from its bytes and its link checked.
    /// </summary>
    public static async Task<WhyAuthorized?> FromArchiveAsync(ArchiveLayout archive, ArchivedEvent a, TrustedKeys? trusted, CancellationToken ct)
    {
        if (a.EventType != AgentActionOccurred.TypeName)
        {
            return null;
        }
        var eventId = a.EventId;
        var e = ContractJson.Deserialize(a.Payload);
        var hashMatches = ChainHash.Compute(a.PrevHash, a.Stream, a.Version, a.EventId, a.EventType, a.RecordedAt, a.Payload).AsSpan().SequenceEqual(a.Hash);
        var expected = a.Version == 1 ? ChainHash.Genesis.ToArray() : a.ExpectedPrevHash;
        return new WhyAuthorized(eventId, e, DelegationPath.Of(e), a.Position, a.Version, a.RecordedAt, Convert.ToHexStringLower(a.PrevHash), Convert.ToHexStringLower(a.Hash),
            hashMatches, expected is not null && expected.AsSpan().SequenceEqual(a.PrevHash), StoredInHotStore: false)
        {
            ArchivedMonth = a.Month,
            ArchiveProblem = trusted is null
                ? "no trusted checkpoint key is configured, so the archive segment could not be verified"
                : await archive.SegmentProblemAsync(a.Month, trusted, ct),
        };
    }
}
