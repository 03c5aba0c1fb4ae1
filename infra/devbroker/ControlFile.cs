using System.Globalization;
using System.Text;

namespace AuditPipeline.DevBroker;

/// <summary>The dev broker's command file (see Program.cs): lines appended to it act on the mock cluster.</summary>
public static class ControlFile
{
    /// <summary>Runs one command; returns the answer ("ok: …" or "error: …"), never throws for a bad line.</summary>
    public static string Run(MockKafkaCluster cluster, string line)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        try
        {
            switch (words)
            {
                case ["leader", var topic, var partition, var broker]:
                    cluster.SetPartitionLeader(topic, Number(partition), Number(broker));
                    break;
                case ["down", var broker]:
                    cluster.BrokerDown(Number(broker));
                    break;
                case ["up", var broker]:
                    cluster.BrokerUp(Number(broker));
                    break;
                default:
                    return $"error: {line}: expected 'leader <topic> <partition> <broker>', 'down <broker>' or 'up <broker>'";
            }
            return $"ok: {line}";
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidOperationException)
        {
            return $"error: {line}: {ex.Message}";
        }
    }

    /// <summary>Empties the file, then hands every complete line appended to it to <paramref name="onLine"/> until cancelled.</summary>
    public static async Task FollowAsync(string path, Action<string> onLine, CancellationToken ct)
    {
        await File.WriteAllTextAsync(path, "", ct); // commands from an earlier run are not replayed
        long position = 0;
        var pending = new StringBuilder();
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            if (!File.Exists(path))
            {
                continue;
            }
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < position)
            {
                position = 0; // truncated or replaced: start over
                pending.Clear();
            }
            stream.Position = position;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            pending.Append(await reader.ReadToEndAsync(ct));
            position = stream.Position;
            var text = pending.ToString();
            var end = text.LastIndexOf('\n');
            if (end < 0)
            {
                continue;
            }
            foreach (var line in text[..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
            {
                onLine(line);
            }
            pending.Remove(0, end + 1);
        }
    }

    private static int Number(string text) => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
