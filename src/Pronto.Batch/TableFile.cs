using Pronto.Batch.Input;
using Pronto.Batch.Output;
using Pronto.Batch.Scoring;
using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>
/// Writes a whole table to one <c>.parquet</c>, <c>.jsonl</c> or <c>.csv</c> file with the batch job's own writers,
/// so the file is one that <c>pronto batch</c> (and DuckDB) reads: <c>pronto sample</c>'s inputs. The file appears
/// whole or not at all (written under a temporary name, flushed, renamed).
/// </summary>
public static class TableFile
{
    // A batch job's default row group (BatchOptions.RowGroupRows): a reader holds one group of the file at a time.
    private const int RowGroupRows = 65_536;

    /// <summary>The extensions <see cref="WriteAsync"/> knows.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".parquet", ".jsonl", ".csv"];

    /// <summary>
    /// Writes <paramref name="rows"/> (values aligned with <paramref name="columns"/>, boxed as the column kind
    /// holds them: long, double, float, bool, string, byte[]) to <paramref name="path"/>, its format named by its
    /// extension. <see cref="ColumnKind.Float"/> columns are REQUIRED FLOAT in Parquet: no nulls.
    /// </summary>
    public static async Task WriteAsync(string path, IReadOnlyList<Column> columns, IEnumerable<object?[]> rows, CancellationToken cancellationToken = default)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(extension))
        {
            ProntoErrors.InvalidArgument($"'{path}': the file must end in {string.Join(", ", Extensions)}");
        }

        var temp = AtomicFile.TempOf(path);
        var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        IPartWriter writer = extension switch
        {
            ".parquet" => new ParquetPartWriter(stream, columns, RowGroupRows),
            ".jsonl" => new JsonlPartWriter(stream, columns),
            _ => new CsvPartWriter(stream, columns),
        };
        try
        {
            await using (writer)
            {
                foreach (var chunk in rows.Chunk(RowGroupRows))
                {
                    var group = ToColumns(columns, chunk);
                    await writer.WriteAsync(new ScoredColumns(new ColumnChunk(group, 0, chunk.Length), group.Columns, null, chunk.Length, null, null, null, 0), cancellationToken);
                    group.Release();
                }

                await writer.CompleteAsync(cancellationToken);
            }

            AtomicFile.Commit(temp, path);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Boxed rows as a group of typed columns (a null number or boolean marked in its null mask).</summary>
    internal static ColumnGroup ToColumns(IReadOnlyList<Column> columns, object?[][] rows)
    {
        var data = new ColumnData?[columns.Count];
        for (var c = 0; c < data.Length; c++)
        {
            var column = ColumnData.Rent(columns[c].Kind, rows.Length, nullable: true);
            for (var r = 0; r < rows.Length; r++)
            {
                if (rows[r][c] is null && column.Nulls is { } nulls)
                {
                    nulls[r] = true;
                }
                else if (rows[r][c] is { } value)
                {
                    column.Values.SetValue(value, r);
                }
            }

            data[c] = column;
        }

        return new ColumnGroup(0, rows.Length, data);
    }
}
