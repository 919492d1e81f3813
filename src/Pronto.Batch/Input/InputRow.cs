namespace Pronto.Batch.Input;

/// <summary>
/// One input row of <see cref="InputSource.ReadRowsAsync"/>: its global number (0-based, across the input's files in name order), the file it came
/// from, and its values aligned with the job's input columns. A row the reader could not parse carries
/// <see cref="Error"/> instead of values and goes to the errors file.
/// </summary>
public sealed class InputRow(long number, int file, object?[] values, string? error = null)
{
    public long Number { get; } = number;

    public int File { get; } = file;

    public object?[] Values { get; } = values;

    public string? Error { get; } = error;
}
