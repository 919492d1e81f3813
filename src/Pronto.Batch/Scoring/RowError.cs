namespace Pronto.Batch.Scoring;

/// <summary>A row that could not be scored: its global number (0-based), its file, and why.</summary>
public readonly record struct RowError(long Row, string File, string Error);
