using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>How a problem names its event; formatted only when there is a problem (verification does this per line).</summary>
internal readonly struct LineName(CheckedLine e)
{
    public override string ToString() =>
        $"{BundleFormat.Events} line {e.LineNumber}: event {e.EventId} (chain '{e.Stream}' version {e.Version}, log position {e.Position})";
}

/// <summary>Passes reads through and hashes every byte read.</summary>
internal sealed class HashingReadStream(Stream inner, IncrementalHash hash) : Stream
{
    public long BytesRead { get; private set; }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        hash.AppendData(buffer[..n]);
        BytesRead += n;
        return n;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A line after the checks that need only the line itself.</summary>
internal sealed record CheckedLine(
    long LineNumber, string? ParseProblem, long Position, string Stream, long Version, Guid EventId,
    byte[] PrevHash, byte[] Hash, byte[] LeafHash, bool HashMatches);

/// <summary>
/// Reads events.jsonl once, on three kinds of thread: a reader that hashes the raw file (for the
/// manifest) and cuts it into blocks of whole lines; two workers that parse blocks and recompute
/// chain and leaf hashes (the expensive, independent part); and the caller, which applies the
/// results in file order (log order, links, the tree). Memory is bounded by the blocks in flight.
/// </summary>
internal static class EventPipeline
{
    private const int Workers = 2;
    private const int BlockBytes = 1 << 22;
    private const int InFlight = 6;

    private sealed record Block(byte[] Buffer, int Length, long FirstLine)
    {
        public TaskCompletionSource<CheckedLine[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static async Task<(string FileHash, long FileBytes, long Lines, bool Cut)> RunAsync(string path, Action<CheckedLine> applyInOrder, IProgress<long>? progress, CancellationToken ct)
    {
        var work = Channel.CreateBounded<Block>(new BoundedChannelOptions(InFlight) { SingleWriter = true });
        var ordered = Channel.CreateBounded<Block>(new BoundedChannelOptions(InFlight) { SingleWriter = true, SingleReader = true });
        long fileBytes = 0, lines = 0;
        var cut = false;
        var reader = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                // The manifest's hash is of the file as stored (compressed or not): hash the raw bytes as they are read.
                using var raw = new HashingReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), hash);
                using Stream file = path.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(raw, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true) : raw;
                var carry = 0;
                var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
                while (true)
                {
                    if (carry == buffer.Length)
                    {
                        // One line longer than a block: grow the buffer (bounded by the line, which the parser then judges).
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, carry).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    var read = file.ReadAtLeast(buffer.AsSpan(carry), buffer.Length - carry, throwOnEndOfStream: false);
                    var filled = carry + read;
                    var end = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (read == 0)
                    {
                        cut = filled > 0;
                        ArrayPool<byte>.Shared.Return(buffer);
                        raw.CopyTo(Stream.Null); // anything after the compressed data is part of the file too
                        fileBytes = raw.BytesRead;
                        break;
                    }
                    if (end == 0)
                    {
                        carry = filled;
                        continue;
                    }
                    var count = buffer.AsSpan(0, end).Count((byte)'\n');
                    var block = new Block(buffer, end, lines + 1);
                    lines += count;
                    await ordered.Writer.WriteAsync(block, ct);
                    await work.Writer.WriteAsync(block, ct);
                    var next = ArrayPool<byte>.Shared.Rent(BlockBytes);
                    carry = filled - end;
                    buffer.AsSpan(end, carry).CopyTo(next);
                    buffer = next;
                }
            }
            finally
            {
                work.Writer.Complete();
                ordered.Writer.Complete();
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }, ct);

        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (await work.Reader.WaitToReadAsync())
            {
                while (work.Reader.TryRead(out var block))
                {
                    try
                    {
                        block.Done.SetResult(ParseBlock(block));
                    }
                    catch (Exception ex)
                    {
                        block.Done.SetException(ex);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(block.Buffer);
                    }
                }
            }
        })).ToArray();

        while (await ordered.Reader.WaitToReadAsync(ct))
        {
            while (ordered.Reader.TryRead(out var block))
            {
                // WaitAsync: a cancelled reader may leave a block that no worker will parse.
                var parsed = await block.Done.Task.WaitAsync(ct);
                foreach (var line in parsed)
                {
                    applyInOrder(line);
                }
                progress?.Report(block.FirstLine);
            }
        }
        await Task.WhenAll(workers);
        return (await reader, fileBytes, lines, cut);
    }

    /// <summary>The part of a line's checks that needs no other line: run on any thread.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static CheckedLine ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (!EventLine.TryParse(line, out var e, out var why))
        {
            return new CheckedLine(lineNumber, $"{BundleFormat.Events} line {lineNumber}: {why}", 0, "", 0, default, [], [], [], false);
        }
        var computed = ChainHash.Compute(e.PrevHash, e.Stream, e.Version, e.EventId, e.EventType, e.RecordedAt, e.Payload);
        var hash = e.Hash.ToArray();
        return new CheckedLine(lineNumber, null, e.Position, e.Stream, e.Version, e.EventId, e.PrevHash.ToArray(), hash,
            MerkleTree.LeafHashOf(e.Position, hash), computed.AsSpan().SequenceEqual(hash));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static CheckedLine[] ParseBlock(Block block)
    {
        var data = block.Buffer.AsSpan(0, block.Length);
        var result = new List<CheckedLine>(data.Count((byte)'\n'));
        var number = block.FirstLine;
        while (data.Length > 0)
        {
            var newline = data.IndexOf((byte)'\n');
            result.Add(ParseLine(data[..newline], number++));
            data = data[(newline + 1)..];
        }
        return [.. result];
    }
}
