namespace AuditPipeline.Integrity.Evidence;

/// <summary>What verifying a bundle found. Problems name the file and, where there is one, the event.</summary>
public sealed class BundleReport
{
    private const int MaxListed = 200;
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Problems => _problems;
    /// <summary>Problems found beyond the first <see cref="MaxListed"/> (counted, not listed).</summary>
    public long MoreProblems { get; private set; }
    public bool Ok => _problems.Count == 0;
    public long Events { get; set; }
    public long ProofNodes { get; set; }
    public long CheckpointSize { get; set; }
    public string? RootHash { get; set; }
    /// <summary>The key the signatures were checked with (the trusted key when pinned), else the one public-key.pem holds.</summary>
    public string? KeyId { get; set; }
    /// <summary>Whether the signatures were checked with a trusted key rather than the bundle's own public-key.pem.</summary>
    public bool Pinned { get; init; }
    /// <summary>Set for an archive segment purged after the retention period (only its chain hashes remain).</summary>
    public PurgeRecord? Purged { get; set; }

    public void Fail(string problem)
    {
        lock (_problems)
        {
            if (_problems.Count < MaxListed)
            {
                _problems.Add(problem);
            }
            else
            {
                MoreProblems++;
            }
        }
    }
}
