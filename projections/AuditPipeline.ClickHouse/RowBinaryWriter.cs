using System.Buffers.Binary;
using System.Text;

namespace AuditPipeline.ClickHouse;

/// <summary>ClickHouse RowBinary: little-endian fixed-width numbers, strings as LEB128 length + UTF-8 bytes.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "Methods are named after the ClickHouse column types they write.")]
public sealed class RowBinaryWriter : IDisposable
{
    private readonly MemoryStream _buffer = new();
    private readonly byte[] _scratch = new byte[16];

    public int Rows { get; private set; }

    public RowBinaryWriter String(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var length = (ulong)bytes.Length;
        do
        {
            var b = (byte)(length & 0x7F);
            length >>= 7;
            _buffer.WriteByte(length != 0 ? (byte)(b | 0x80) : b);
        }
        while (length != 0);
        _buffer.Write(bytes);
        return this;
    }

    public RowBinaryWriter Int64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_scratch, value);
        _buffer.Write(_scratch, 0, 8);
        return this;
    }

    public RowBinaryWriter UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_scratch, value);
        _buffer.Write(_scratch, 0, 8);
        return this;
    }

    public RowBinaryWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, value);
        _buffer.Write(_scratch, 0, 4);
        return this;
    }

    public RowBinaryWriter UInt8(byte value)
    {
        _buffer.WriteByte(value);
        return this;
    }

    /// <summary>DateTime: seconds since the epoch as UInt32.</summary>
    public RowBinaryWriter DateTime(DateTimeOffset value) => UInt32(checked((uint)value.ToUnixTimeSeconds()));

    public void EndRow() => Rows++;

    public byte[] ToArray() => _buffer.ToArray();

    public void Dispose() => _buffer.Dispose();
}
