using Pronto.Batch.Output;
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
                foreach (var row in rows)
                {
                    await writer.WriteAsync(row, cancellationToken);
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
}
