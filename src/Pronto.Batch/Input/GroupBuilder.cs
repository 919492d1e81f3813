namespace Pronto.Batch.Input;

/// <summary>
/// Fills the <see cref="ColumnGroup"/>s of a text format (CSV, JSONL) a line at a time: <see cref="Capacity"/> rows a
/// group, the needed columns rented from the pools (numbers and booleans with a null mask), a row the reader cannot
/// parse recorded as its error with null values. A group whose rows the job does not want is only counted.
/// </summary>
internal sealed class GroupBuilder(IReadOnlyList<Column> columns, bool[] needed, Func<long, int, bool> wanted)
{
    public const int Capacity = 4096;

    private ColumnData?[] _columns = [];
    private string?[]? _errors;
    private long _start;
    private bool _open;

    /// <summary>The row being filled: the group's row count so far.</summary>
    public int Row { get; private set; }

    /// <summary>Column <paramref name="c"/> of the group, null when it is not read (not needed, or the group is only counted).</summary>
    public ColumnData? Column(int c) => _columns[c];

    /// <summary>Starts a group at row <paramref name="start"/> of the file when none is being filled.</summary>
    public void Begin(long start)
    {
        if (_open)
        {
            return;
        }

        _open = true;
        _start = start;
        _errors = null;
        _columns = new ColumnData?[columns.Count];
        if (!wanted(start, Capacity))
        {
            return;
        }

        for (var c = 0; c < _columns.Length; c++)
        {
            if (needed[c])
            {
                _columns[c] = ColumnData.Rent(columns[c].Kind, Capacity, nullable: true);
            }
        }
    }

    /// <summary>Row <see cref="Row"/> could not be parsed: its error, and null values.</summary>
    public void Fail(string error)
    {
        (_errors ??= new string?[Capacity])[Row] = error;
        foreach (var column in _columns)
        {
            if (column?.Nulls is { } nulls)
            {
                nulls[Row] = true;
            }
            else if (column?.Values is string?[] strings)
            {
                strings[Row] = null;
            }
        }
    }

    /// <summary>Ends the current row; the group when it is full, else null.</summary>
    public ColumnGroup? Next() => ++Row == Capacity ? Take() : null;

    /// <summary>The group filled so far (null when it holds no row); the next <see cref="Begin"/> starts another.</summary>
    public ColumnGroup? Take()
    {
        if (Row == 0)
        {
            return null;
        }

        var group = new ColumnGroup(_start, Row, _columns, _errors);
        Row = 0;
        _open = false;
        return group;
    }
}
