using Npgsql;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Store;

/// <summary>An RFC 9162 inclusion proof of one event against a signed checkpoint, self-describing enough to verify by hand.</summary>
/// <remarks><see cref="Verified"/>: the proof leads to the checkpoint's root and that checkpoint's signature verifies with a trusted key; otherwise <see cref="Problem"/> says why not.</remarks>
public sealed record InclusionProofDocument(
    Guid EventId, string StreamId, long Position, long LeafIndex, string ChainHash, string LeafHash,
    long TreeSize, string RootHash, IReadOnlyList<string> Proof, CheckpointDocument Checkpoint, bool Verified)
{
    public string? Problem { get; init; }
}

/// <summary>An RFC 9162 consistency proof: the log of <see cref="OldSize"/> is a prefix of the log of <see cref="NewSize"/>.</summary>
public sealed record ConsistencyProofDocument(
    long OldSize, string OldRoot, long NewSize, string NewRoot, IReadOnlyList<string> Proof,
    CheckpointDocument? OldCheckpoint, CheckpointDocument? NewCheckpoint, bool Verified)
{
    public string? Problem { get; init; }
}

/// <summary>Asked for a proof that cannot exist (no such event, no checkpoint covering it, sizes out of range).</summary>
public sealed class ProofUnavailableException(string message) : Exception(message);

/// <summary>
/// Builds proofs from the stored tree and checks each against the signed root before handing it out.
/// A checkpoint row counts as signed only if its signature verifies with one of the
/// <paramref name="trusted"/> keys (never a key read from the database): a planted row is reported.
/// </summary>
public sealed class ProofService(NpgsqlDataSource dataSource, TrustedKeys? trusted)
{
    private readonly StoredMerkleTree _tree = new(dataSource);
    private readonly CheckpointLog _checkpoints = new(dataSource);

    /// <param name="checkpointSize">The checkpoint to prove against; null: the latest one.</param>
    public async Task<InclusionProofDocument> InclusionAsync(Guid eventId, long? checkpointSize, CancellationToken ct)
    {
        var found = await _tree.FindEventAsync(eventId, ct) ?? throw new ProofUnavailableException($"no event {eventId} in the store");
        var checkpoint = checkpointSize is { } size
            ? await _checkpoints.BySizeAsync(size, ct) ?? throw new ProofUnavailableException($"no checkpoint of log size {size} (auditctl checkpoint list)")
            : await _checkpoints.LatestAsync(ct) ?? throw new ProofUnavailableException("no checkpoint has been signed yet (auditctl checkpoint create)");
        if (checkpoint.Size < found.Position)
        {
            throw new ProofUnavailableException(
                $"event {eventId} is at log position {found.Position}, after checkpoint {checkpoint.Size}; wait for the next checkpoint or sign one (auditctl checkpoint create)");
        }
        var index = found.Position - 1;
        var proof = await _tree.InclusionProofAsync(index, checkpoint.Size, ct);
        var leaf = StoredMerkleTree.LeafHash(found.Position, found.ChainHash);
        var included = MerkleProofs.VerifyInclusion(index, checkpoint.Size, leaf, proof, Convert.FromHexString(checkpoint.RootHash));
        var problem = !included ? "the proof does not lead from the event to the checkpoint's root" : SignatureProblem(checkpoint);
        return new InclusionProofDocument(eventId, found.StreamId, found.Position, index, Convert.ToHexStringLower(found.ChainHash), Convert.ToHexStringLower(leaf),
            checkpoint.Size, checkpoint.RootHash, proof.Select(Convert.ToHexStringLower).ToList(), await DocumentAsync(checkpoint, ct), problem is null) { Problem = problem };
    }

    /// <summary>Between two log sizes; where a checkpoint was signed at a size, its signed root is the one checked.</summary>
    public async Task<ConsistencyProofDocument> ConsistencyAsync(long oldSize, long newSize, CancellationToken ct)
    {
        var logSize = await _tree.LogSizeAsync(ct);
        if (oldSize < 1 || oldSize > newSize || newSize > logSize)
        {
            throw new ProofUnavailableException($"sizes must satisfy 1 ≤ from ≤ to ≤ {logSize} (the log size)");
        }
        var oldCheckpoint = await _checkpoints.BySizeAsync(oldSize, ct);
        var newCheckpoint = await _checkpoints.BySizeAsync(newSize, ct);
        var oldRoot = oldCheckpoint?.RootHash ?? Convert.ToHexStringLower(await _tree.RootAsync(oldSize, ct));
        var newRoot = newCheckpoint?.RootHash ?? Convert.ToHexStringLower(await _tree.RootAsync(newSize, ct));
        var proof = await _tree.ConsistencyProofAsync(oldSize, newSize, ct);
        var consistent = MerkleProofs.VerifyConsistency(oldSize, newSize, Convert.FromHexString(oldRoot), Convert.FromHexString(newRoot), proof);
        var problem = !consistent ? "the proof does not show the older log as a prefix of the newer one"
            : (oldCheckpoint is null ? null : SignatureProblem(oldCheckpoint)) ?? (newCheckpoint is null ? null : SignatureProblem(newCheckpoint));
        return new ConsistencyProofDocument(oldSize, oldRoot, newSize, newRoot, proof.Select(Convert.ToHexStringLower).ToList(),
            oldCheckpoint is null ? null : await DocumentAsync(oldCheckpoint, ct), newCheckpoint is null ? null : await DocumentAsync(newCheckpoint, ct), problem is null) { Problem = problem };
    }

    private string? SignatureProblem(Checkpoint c) => trusted is null
        ? "no trusted checkpoint key is configured, so the checkpoint's signature was not checked"
        : trusted.Verify(c) is { } problem ? $"checkpoint {c.Size}: {problem}" : null;

    private async Task<CheckpointDocument> DocumentAsync(Checkpoint c, CancellationToken ct) =>
        CheckpointDocument.From(c, (await _checkpoints.PublicKeysAsync(ct)).GetValueOrDefault(c.KeyId));
}
