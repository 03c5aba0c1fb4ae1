using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>inclusion-proof.jsonl, one subtree per line, read as the events need them.</summary>
internal sealed class ProofReader(string path) : IDisposable
{
    private readonly StreamReader _reader = new(path, Encoding.UTF8, false, 1 << 16);

    public readonly record struct Node(int Level, long Index, byte[] Hash);

    public long Count { get; private set; }

    public bool TryNext(out Node node, out string? problem)
    {
        node = default;
        problem = null;
        var line = _reader.ReadLine();
        if (line is null)
        {
            return false;
        }
        Count++;
        try
        {
            var n = JsonSerializer.Deserialize<ProofNode>(line, BundleFormat.Json);
            var hash = n?.Hash is { Length: 64 } hex ? Hex.TryDecode(Encoding.ASCII.GetBytes(hex)) : null;
            if (n is null || hash is null || n.Level < 0 || n.Index < 0)
            {
                problem = $"{BundleFormat.Proof} line {Count}: not a subtree (level, index, 64 lowercase hex digits)";
                return false;
            }
            node = new Node(n.Level, n.Index, hash);
            return true;
        }
        catch (JsonException ex)
        {
            problem = $"{BundleFormat.Proof} line {Count}: not valid JSON ({ex.Message})";
            return false;
        }
    }

    public void Dispose() => _reader.Dispose();
}
