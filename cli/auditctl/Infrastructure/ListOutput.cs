using Spectre.Console;
using Spectre.Console.Rendering;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// A list for people and scripts: a table when stdout is a terminal, and the plain lines when it
/// is redirected, exactly as before tables existed (scripts, the demo and the tests read them).
/// </summary>
internal sealed class ListOutput(params string[] columns)
{
    private readonly List<(string Plain, string[] Cells)> _rows = [];

    public int Count => _rows.Count;

    public void Add(string plain, params string[] cells) => _rows.Add((plain, cells));

    /// <param name="empty">Printed instead of an empty table (and as the plain line when there are no rows), if given.</param>
    public void Write(string? empty = null)
    {
        if (_rows.Count == 0)
        {
            if (empty is not null)
            {
                Console.WriteLine(empty);
            }
            return;
        }
        if (Console.IsOutputRedirected)
        {
            foreach (var (plain, _) in _rows)
            {
                Console.WriteLine(plain);
            }
            return;
        }
        var table = new Table().RoundedBorder();
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }
        foreach (var (_, cells) in _rows)
        {
            // Text, not markup: values such as "[a,b]" or "team=x" must print as they are.
            table.AddRow(cells.Select(c => (IRenderable)new Text(c)));
        }
        AnsiConsole.Write(table);
    }
}
