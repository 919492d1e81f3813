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
    private long _consumed;

    private InputSource(IReadOnlyList<string> files, IReadOnlyList<Column> columns, int bufferBytes)
    {
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

    /// <summary>Every row in order; <paramref name="wanted"/> says (by row number) which rows need their values.</summary>
    public async IAsyncEnumerable<InputRow> ReadAsync(Func<long, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long number = 0;
        long before = 0;
        for (var f = 0; f < Files.Count; f++)
        {
            await using var reader = Open(Files[f], _bufferBytes);
            await reader.OpenAsync(cancellationToken);
            var map = MapColumns(reader.Columns);
            // The usual case (one file, or files alike): the reader's rows are the job's rows as they are.
            var same = map is null && reader.Columns.Select(c => c.Kind).SequenceEqual(Columns.Select(c => c.Kind));
            await foreach (var (values, error) in reader.ReadAsync(cancellationToken))
            {
                var n = number++;
                if ((n & 1023) == 0)
                {
                    Volatile.Write(ref _consumed, before + reader.Position);
                }

                if (!wanted(n))
                {
                    continue;
                }

                yield return error is not null ? new InputRow(n, f, [], error) : same ? new InputRow(n, f, values!) : Remap(n, f, values!, map);
            }

            before += new FileInfo(Files[f]).Length;
            Volatile.Write(ref _consumed, before);
        }
    }

    /// <summary>True when the columnar fast path can read this input: a single Parquet file.</summary>
    internal bool IsSingleParquet => Files.Count == 1 && FormatOf(Files[0]) == "parquet";

    /// <summary>
    /// The columnar fast path (<see cref="IsSingleParquet"/> only): row groups as typed column arrays, reading
    /// only the <paramref name="needed"/> columns and only groups <paramref name="wanted"/> accepts.
    /// </summary>
    internal async IAsyncEnumerable<ColumnGroup> ReadColumnsAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = new ParquetRowReader(Files[0]);
        await reader.OpenAsync(cancellationToken);
        await foreach (var group in reader.ReadColumnsAsync(needed, wanted, cancellationToken))
        {
            Volatile.Write(ref _consumed, reader.Position);
            yield return group;
        }

        Volatile.Write(ref _consumed, new FileInfo(Files[0]).Length);
    }

    private InputRow Remap(long number, int file, object?[] values, int[]? map)
    {
        var row = new object?[Columns.Count];
        for (var c = 0; c < row.Length; c++)
        {
            var source = map is null ? c : map[c];
            if (source < 0)
            {
                continue;
            }

            if (!ColumnValues.TryCoerce(values[source], Columns[c].Kind, out row[c]))
            {
                return new InputRow(number, file, [], $"column '{Columns[c].Name}' holds {values[source]!.GetType().Name}, the input's first file has {Columns[c].Kind}");
            }
        }

        return new InputRow(number, file, row);
    }

    /// <summary>Job column -> this file's column index (-1 where absent); null when they are the same.</summary>
    private int[]? MapColumns(IReadOnlyList<Column> fileColumns)
    {
        if (fileColumns.Count == Columns.Count && fileColumns.Select(c => c.Name).SequenceEqual(Columns.Select(c => c.Name)))
        {
            return null;
        }

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
