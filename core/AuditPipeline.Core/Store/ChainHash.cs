using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AuditPipeline.Core.Contract;

namespace AuditPipeline.Core.Store;

/// <summary>
/// The per-agent hash chain: hash = SHA-256(prev_hash ‖ chain record), where the chain record
/// is the documented byte form of everything stored about the event (docs/event-store.md):
/// <code>
/// "AUDITPIPELINE-CHAIN-V1"            22 ASCII bytes (domain separation)
/// u16 length ‖ stream_id             UTF-8
/// i64 version                        1-based position in the agent's chain
/// event_id                           16 bytes, RFC 4122 (big-endian) order
/// u16 length ‖ event_type            UTF-8
/// i64 recorded_at                    microseconds since the Unix epoch, UTC
/// u32 length ‖ payload               the canonical JSON bytes as stored
/// </code>
/// All integers big-endian. The first event of a chain has prev_hash = 32 zero bytes.
/// </summary>
public static class ChainHash
{
    public const int Size = 32;
    private static readonly byte[] Domain = "AUDITPIPELINE-CHAIN-V1"u8.ToArray();
    public static ReadOnlySpan<byte> Genesis => new byte[Size];

    public static byte[] Compute(
        ReadOnlySpan<byte> prevHash, string streamId, long version, Guid eventId,
        string eventType, DateTimeOffset recordedAt, ReadOnlySpan<byte> payload)
    {
        if (prevHash.Length != Size)
        {
            throw new ArgumentException("prev_hash must be 32 bytes", nameof(prevHash));
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> scratch = stackalloc byte[512];
        sha.AppendData(prevHash);
        sha.AppendData(Domain);
        AppendString16(sha, streamId, scratch);
        BinaryPrimitives.WriteInt64BigEndian(scratch, version);
        sha.AppendData(scratch[..8]);
        eventId.TryWriteBytes(scratch, bigEndian: true, out _);
        sha.AppendData(scratch[..16]);
        AppendString16(sha, eventType, scratch);
        BinaryPrimitives.WriteInt64BigEndian(scratch, Timestamps.ToUnixMicroseconds(recordedAt));
        sha.AppendData(scratch[..8]);
        BinaryPrimitives.WriteUInt32BigEndian(scratch, checked((uint)payload.Length));
        sha.AppendData(scratch[..4]);
        sha.AppendData(payload);
        var hash = new byte[Size];
        sha.GetHashAndReset(hash);
        return hash;
    }

    private static void AppendString16(IncrementalHash sha, string value, Span<byte> scratch)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        if (byteCount > ushort.MaxValue)
        {
            throw new ArgumentException("identifier too long for the chain record", nameof(value));
        }
        var buffer = byteCount + 2 <= scratch.Length ? scratch : new byte[byteCount + 2];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)byteCount);
        Encoding.UTF8.GetBytes(value, buffer[2..]);
        sha.AppendData(buffer[..(byteCount + 2)]);
    }
}
