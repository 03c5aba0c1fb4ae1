using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace AuditPipeline.Contracts;

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
        var streamBytes = Encoding.UTF8.GetByteCount(streamId);
        var typeBytes = Encoding.UTF8.GetByteCount(eventType);
        if (streamBytes > ushort.MaxValue || typeBytes > ushort.MaxValue)
        {
            throw new ArgumentException("identifier too long for the chain record");
        }
        // One contiguous buffer and a one-shot hash: this runs once per stored event.
        var length = Size + Domain.Length + 2 + streamBytes + 8 + 16 + 2 + typeBytes + 8 + 4 + payload.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var buffer = rented.AsSpan(0, length);
            var at = 0;
            prevHash.CopyTo(buffer);
            at += Size;
            Domain.CopyTo(buffer[at..]);
            at += Domain.Length;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[at..], (ushort)streamBytes);
            at += 2 + Encoding.UTF8.GetBytes(streamId, buffer[(at + 2)..]);
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], version);
            at += 8;
            eventId.TryWriteBytes(buffer[at..], bigEndian: true, out _);
            at += 16;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[at..], (ushort)typeBytes);
            at += 2 + Encoding.UTF8.GetBytes(eventType, buffer[(at + 2)..]);
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], Timestamps.ToUnixMicroseconds(recordedAt));
            at += 8;
            BinaryPrimitives.WriteUInt32BigEndian(buffer[at..], checked((uint)payload.Length));
            at += 4;
            payload.CopyTo(buffer[at..]);
            return Sha256.Hash(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
