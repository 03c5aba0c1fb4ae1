using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>One line of events.jsonl, parsed strictly: the writer's field order, nothing else.</summary>
public readonly ref struct EventLine
{
    public long Position { get; init; }
    public string Stream { get; init; }
    public long Version { get; init; }
    public Guid EventId { get; init; }
    public string EventType { get; init; }
    public DateTimeOffset RecordedAt { get; init; }
    public ReadOnlySpan<byte> PrevHash { get; init; }
    public ReadOnlySpan<byte> Hash { get; init; }
    public ReadOnlySpan<byte> Payload { get; init; }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(ReadOnlySpan<byte> line, out EventLine result, out string problem)
    {
        result = default;
        problem = "";
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "not a JSON object";
                return false;
            }
            long position = 0, version = 0;
            string? stream = null, type = null;
            Guid id = default;
            DateTimeOffset recordedAt = default;
            byte[]? prev = null, hash = null;
            for (var i = 0; i < Fields.Length; i++)
            {
                var field = Fields[i];
                if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals(field))
                {
                    problem = $"expected the field \"{Encoding.ASCII.GetString(field)}\" here (fields are position, stream, version, eventId, eventType, recordedAt, prevHash, hash, event)";
                    return false;
                }
                if (i == Fields.Length - 1)
                {
                    break; // "event": the payload follows verbatim
                }
                if (!reader.Read())
                {
                    problem = "cut short";
                    return false;
                }
                switch (i)
                {
                    case 0: // position
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out position) || position < 1) { problem = "position is not a positive integer"; return false; }
                        break;
                    case 1: // stream
                        if (reader.TokenType != JsonTokenType.String) { problem = "stream is not a string"; return false; }
                        stream = reader.GetString();
                        break;
                    case 2: // version
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out version) || version < 1) { problem = "version is not a positive integer"; return false; }
                        break;
                    case 3: // eventId
                        if (reader.TokenType != JsonTokenType.String || !Utf8Parser.TryParse(reader.ValueSpan, out id, out var used, 'D') || used != reader.ValueSpan.Length) { problem = "eventId is not a UUID"; return false; }
                        break;
                    case 4: // eventType
                        if (reader.TokenType != JsonTokenType.String) { problem = "eventType is not a string"; return false; }
                        type = reader.GetString();
                        break;
                    case 5: // recordedAt
                        if (reader.TokenType != JsonTokenType.String || !TryParseTime(reader.ValueSpan, out recordedAt)) { problem = $"recordedAt is not {BundleFormat.TimeFormat}"; return false; }
                        break;
                    case 6: // prevHash
                        if (reader.TokenType != JsonTokenType.String || Hex.TryDecode(reader.ValueSpan) is not { Length: 32 } p) { problem = "prevHash is not 64 lowercase hex digits"; return false; }
                        prev = p;
                        break;
                    case 7: // hash
                        if (reader.TokenType != JsonTokenType.String || Hex.TryDecode(reader.ValueSpan) is not { Length: 32 } h) { problem = "hash is not 64 lowercase hex digits"; return false; }
                        hash = h;
                        break;
                }
            }
            var start = (int)reader.BytesConsumed;
            if (line.Length < start + 3 || line[^1] != (byte)'}' || line[start] != (byte)'{')
            {
                problem = "the event is not a JSON object ending the line";
                return false;
            }
            result = new EventLine
            {
                Position = position, Stream = stream!, Version = version, EventId = id, EventType = type!, RecordedAt = recordedAt,
                PrevHash = prev, Hash = hash, Payload = line[start..^1],
            };
            return true;
        }
        catch (JsonException ex)
        {
            problem = $"not valid JSON ({ex.Message})";
            return false;
        }
    }

    private static readonly byte[][] Fields =
        ["position"u8.ToArray(), "stream"u8.ToArray(), "version"u8.ToArray(), "eventId"u8.ToArray(), "eventType"u8.ToArray(),
         "recordedAt"u8.ToArray(), "prevHash"u8.ToArray(), "hash"u8.ToArray(), "event"u8.ToArray()];

    /// <summary>Exactly yyyy-MM-ddTHH:mm:ss.ffffffZ.</summary>
    private static bool TryParseTime(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z')
        {
            return false;
        }
        static int Digits(ReadOnlySpan<byte> d)
        {
            var n = 0;
            foreach (var c in d)
            {
                if (c is < (byte)'0' or > (byte)'9')
                {
                    return -1;
                }
                n = n * 10 + (c - '0');
            }
            return n;
        }
        int year = Digits(s[..4]), month = Digits(s[5..7]), day = Digits(s[8..10]), hour = Digits(s[11..13]), minute = Digits(s[14..16]), second = Digits(s[17..19]), micros = Digits(s[20..26]);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), Math.Clamp(month, 1, 12)) || hour > 23 || minute > 59 || second > 59 || micros < 0)
        {
            return false;
        }
        value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).AddTicks(micros * 10L);
        return true;
    }
}

/// <summary>Lowercase hex only, so a hash has exactly one spelling.</summary>
public static class Hex
{
    public static byte[]? TryDecode(ReadOnlySpan<byte> hex)
    {
        if ((hex.Length & 1) != 0)
        {
            return null;
        }
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            int hi = Nibble(hex[2 * i]), lo = Nibble(hex[2 * i + 1]);
            if ((hi | lo) < 0)
            {
                return null;
            }
            bytes[i] = (byte)((hi << 4) | lo);
        }
        return bytes;
    }

    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
