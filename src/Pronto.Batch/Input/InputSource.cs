using System.Runtime.CompilerServices;
using Pronto.Core.Errors;

namespace Pronto.Batch.Input;

/// <summary>
/// The job's input: one file, or every CSV / JSONL / Parquet file of a folder in ordinal name order. Rows are
/// numbered globally from 0 in that order, so a row's number (and so its part and shard) never depends on
/// which worker reads it. The first file's columns are the job's; later files are matched by name.
/// </summary>
public sealed class InputSource
{
    private readonly int _bufferBytes;
    private readonly long[] _starts;
    private long _consumed;

    private InputSource(IReadOnlyList<string> files, IReadOnlyList<Column> columns, int bufferBytes)
    {
        _starts = new long[files.Count];
        _starts.AsSpan().Fill(long.MaxValue);
        Files = files;
        Columns = columns;
        _bufferBytes = bufferBytes;
    }

    public IReadOnlyList<string> Files { get; }

    public IReadOnlyList<Column> Columns { get; }

    public long TotalBytes => Files.Sum(f => new FileInfo(f).Length);

    /// <summary>Bytes of the input read so far, updated as rows stream (for progress and ETA).</summary>
    public long ConsumedBytes => Volatile.Read(ref _consumed);

    public static async Task<InputSource> OpenAsync(string path, int bufferBytes, CancellationToken cancellationToken)
    {
        string[] files;
        if (Directory.Exists(path))
        {
            files = [.. Directory.EnumerateFiles(path).Where(f => FormatOf(f) is not null).Order(StringComparer.Ordinal)];
            if (files.Length == 0)
            {
                ProntoErrors.InvalidArgument($"input folder '{path}' holds no .csv, .jsonl or .parquet file");
            }
        }
        else if (File.Exists(path))
        {
            if (FormatOf(path) is null)
            {
                ProntoErrors.InvalidArgument($"input '{path}' is not a .csv, .jsonl (.ndjson) or .parquet file");
            }

            files = [path];
        }
        else
        {
            return ProntoErrors.InvalidArgument<InputSource>($"input '{path}' does not exist");
        }

        await using var first = Open(files[0], bufferBytes);
        await first.OpenAsync(cancellationToken);
        // Another file of a folder may store a FLOAT column of the first as DOUBLE: outputs keep doubles then.
        var columns = files.Length == 1 ? first.Columns : [.. first.Columns.Select(c => c with { Single = false })];
        return new InputSource(files, columns, bufferBytes);
    }

    /// <summary>
    /// Every file's rows in order as <see cref="ColumnGroup"/>s numbered globally, the <paramref name="needed"/> job
    /// columns read (the others null) as the job's kinds: a later file's column is found by name (absent: null), an
    /// integer where the first file has doubles is widened, any value where it has strings is taken as text, and
    /// another kind is that row's error. Only groups that <paramref name="wanted"/> (first row, row count) accepts
    /// hold values. The caller releases each group.
    /// </summary>
    internal async IAsyncEnumerable<ColumnGroup> ReadAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long number = 0;
        long before = 0;
        for (var f = 0; f < Files.Count; f++)
        {
            await using var reader = Open(Files[f], _bufferBytes);
            await reader.OpenAsync(cancellationToken);
            var map = MapColumns(reader.Columns);
            var fileNeeded = new bool[reader.Columns.Count];
            for (var c = 0; c < needed.Length; c++)
            {
                if (needed[c] && map[c] >= 0)
                {
                    fileNeeded[map[c]] = true;
                }
            }

            var start = number;
            Volatile.Write(ref _starts[f], start);
            await foreach (var group in reader.ReadAsync(fileNeeded, (s, n) => wanted(start + s, n), cancellationToken))
            {
                Volatile.Write(ref _consumed, before + reader.Position);
                number += group.Rows;
                yield return Align(group, start, map, needed, wanted(start + group.Start, group.Rows));
            }

            before += new FileInfo(Files[f]).Length;
            Volatile.Write(ref _consumed, before);
        }
    }

    /// <summary>Every row boxed (long, double, bool, string, byte[]; null for a null), for readers of whole tables (fine-tuning data).</summary>
    public async IAsyncEnumerable<InputRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var all = new bool[Columns.Count];
        all.AsSpan().Fill(true);
        await foreach (var group in ReadAsync(all, static (_, _) => true, cancellationToken))
        {
            for (var r = 0; r < group.Rows; r++)
            {
                var number = group.Start + r;
                if (group.Errors?[r] is { } error)
                {
                    yield return new InputRow(number, FileOf(number), [], error);
                    continue;
                }

                var values = new object?[Columns.Count];
                for (var c = 0; c < values.Length; c++)
                {
                    values[c] = group.Columns[c]!.Box(r);
                }

                yield return new InputRow(number, FileOf(number), values);
            }

            group.Release();
        }
    }

    /// <summary>The index in <see cref="Files"/> of the file that global row <paramref name="row"/> (one already read) comes from.</summary>
    public int FileOf(long row)
    {
        var file = 0;
        for (var f = 1; f < _starts.Length && Volatile.Read(ref _starts[f]) <= row; f++)
        {
            file = f;
        }

        return file;
    }

    /// <summary>A file's group as the job's: numbered globally, its columns in the job's order and kinds (none when <paramref name="read"/> is false).</summary>
    private ColumnGroup Align(ColumnGroup group, long start, int[] map, bool[] needed, bool read)
    {
        var columns = new ColumnData?[Columns.Count];
        var errors = group.Errors;
        var kept = new bool[group.Columns.Length];
        for (var c = 0; c < columns.Length && read; c++)
        {
            if (!needed[c])
            {
                continue;
            }

            if (map[c] < 0)
            {
                columns[c] = ColumnData.Rent(Columns[c].Kind, group.Rows, nullable: true);
                columns[c]!.Nulls?.AsSpan(0, group.Rows).Fill(true);
            }
            else if (group.Columns[map[c]] is { } source && source.Kind == Columns[c].Kind)
            {
                columns[c] = source;
                kept[map[c]] = true;
            }
            else
            {
                columns[c] = Convert(group.Columns[map[c]]!, Columns[c], group.Rows, ref errors);
            }
        }

        for (var i = 0; i < kept.Length; i++)
        {
            if (!kept[i])
            {
                group.Columns[i]?.Return();
            }
        }

        return new ColumnGroup(start + group.Start, group.Rows, columns, errors);
    }

    /// <summary>A later file's column of another kind as the job's: integers widened to doubles, anything as text, else row errors.</summary>
    private static ColumnData Convert(ColumnData source, Column target, int rows, ref string?[]? errors)
    {
        var column = ColumnData.Rent(target.Kind, rows, nullable: true);
        for (var r = 0; r < rows; r++)
        {
            if (source.IsNull(r))
            {
                if (column.Nulls is { } nulls)
                {
                    nulls[r] = true;
                }
            }
            else if (column.Values is string?[] strings)
            {
                strings[r] = source.Text(r);
            }
            else if (column.Values is double[] doubles && source.Values is long[] longs)
            {
                doubles[r] = longs[r];
            }
            else
            {
                if (column.Nulls is { } nulls)
                {
                    nulls[r] = true;
                }

                (errors ??= new string?[rows])[r] ??= $"column '{target.Name}' holds {ClrName(source.Kind)}, the input's first file has {target.Kind}";
            }
        }

        return column;
    }

    private static string ClrName(ColumnKind kind) => kind switch
    {
        ColumnKind.Bool => "Boolean",
        ColumnKind.Binary => "Byte[]",
        _ => kind.ToString(),
    };

    /// <summary>Job column -> this file's column index (-1 where absent).</summary>
    private int[] MapColumns(IReadOnlyList<Column> fileColumns)
    {
        var map = new int[Columns.Count];
        for (var c = 0; c < map.Length; c++)
        {
            map[c] = -1;
            for (var i = 0; i < fileColumns.Count; i++)
            {
                if (fileColumns[i].Name == Columns[c].Name)
                {
                    map[c] = i;
                    break;
                }
            }
        }

        return map;
    }

    /// <summary>The reader a file's extension picks (<c>csv</c>, <c>jsonl</c>, <c>parquet</c>), or null for a file it does not read.</summary>
    public static string? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => "csv",
        ".jsonl" or ".ndjson" => "jsonl",
        ".parquet" => "parquet",
        _ => null,
    };

    private static IRowReader Open(string path, int bufferBytes) => FormatOf(path) switch
    {
        "csv" => new CsvRowReader(path, bufferBytes),
        "jsonl" => new JsonlRowReader(path, bufferBytes),
        _ => new ParquetRowReader(path),
    };
}
