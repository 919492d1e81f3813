using DuckDB.NET.Data;
using DuckDB.NET.Data.DataChunk.Reader;
using DuckDB.NET.Data.DataChunk.Writer;
using DuckDB.NET.Native;
using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Sql;

/// <summary>
/// <c>pronto_generate(model, prompt [, max_tokens [, temperature [, seed]]])</c> -> VARCHAR: each prompt's completion by a
/// generative model (default 16 tokens, as OpenAI's /v1/completions): greedy unless a temperature above 0 is given,
/// then drawn from the row's seed (random when NULL or absent), so greedy or seeded queries give the same text each
/// time. A chunk's prompts run max_running at a time, sharing the decode loop's steps (continuous batching) instead of
/// running one after the other. A NULL model, prompt or max_tokens gives NULL; a bad one fails the query with the reason.
/// </summary>
internal static class GenerateFunction
{
    public const string Name = "pronto_generate";

    /// <summary>Tokens generated when the query gives no max_tokens (OpenAI's default for completions).</summary>
    public const int DefaultMaxTokens = 16;

    public static void Register(DuckDBConnection connection, ProntoSqlFunctions functions)
    {
        // Not pure: a model's new version may answer differently; DuckDB must not fold or cache the calls.
        var options = new ScalarFunctionOptions { HandlesNulls = true, IsPureFunction = false };
        connection.RegisterScalarFunction<object, string>(Name, (readers, writer, rows) => Execute(functions, readers, writer, rows), options, true);
    }

    private static void Execute(ProntoSqlFunctions functions, IReadOnlyList<IDuckDBDataReader> readers, IDuckDBDataWriter writer, ulong rowCount)
    {
        if (readers.Count is < 2 or > 5)
        {
            throw functions.Fail(Name, null, ErrorCode.InvalidArgument, "takes (model, prompt [, max_tokens [, temperature [, seed]]])");
        }

        if (readers[0].DuckDBType is not (DuckDBType.Varchar or DuckDBType.SqlNull) || readers[1].DuckDBType is not (DuckDBType.Varchar or DuckDBType.SqlNull))
        {
            throw functions.Fail(Name, null, ErrorCode.InvalidArgument, "the model name and the prompt must be VARCHAR");
        }

        var requests = new List<(ulong Row, string Model, string Prompt, SamplingParameters Parameters)>();
        for (ulong row = 0; row < rowCount; row++)
        {
            var model = Text(readers[0], row);
            var prompt = Text(readers[1], row);
            int? maxTokens = readers.Count >= 3 ? Count(functions, readers[2], row) : DefaultMaxTokens;
            if (model is null || prompt is null || maxTokens is null)
            {
                writer.WriteNull(row);
                continue;
            }

            var temperature = readers.Count >= 4 ? Temperature(functions, readers[3], row) : 0f;
            var seed = readers.Count == 5 ? Seed(functions, readers[4], row) : null;
            requests.Add((row, model, prompt, new SamplingParameters { Temperature = temperature, Seed = seed, MaxTokens = maxTokens.Value }));
        }

        foreach (var group in requests.GroupBy(r => r.Model, StringComparer.Ordinal))
        {
            Generate(functions, group.Key, [.. group], writer);
        }
    }

    private static void Generate(ProntoSqlFunctions functions, string name, (ulong Row, string Model, string Prompt, SamplingParameters Parameters)[] requests, IDuckDBDataWriter writer)
    {
        string[] texts;
        try
        {
            using var lease = functions.Service.Repository.Acquire(name);
            var model = lease.Model.Generative
                ?? throw new ProntoException(ErrorCode.InvalidArgument, $"model '{name}' is not a generative model");
            // A sliding window of max_running sequences keeps the running batch full without overflowing the
            // model's queue (a DuckDB chunk holds up to 2,048 rows; the queue max_waiting, 64 by default): what
            // waits in the queue is always some of the window, so a window no larger than max_waiting never
            // overflows it (other clients of the same model can still fill it: the query then fails with 503's reason).
            texts = new string[requests.Length];
            var window = Math.Max(1, Math.Min(model.MaxRunning, model.MaxWaiting));
            var inFlight = new List<(int Index, Task<string> Text)>(window);
            using var cancel = new CancellationTokenSource();
            try
            {
                var next = 0;
                while (next < requests.Length || inFlight.Count > 0)
                {
                    for (; next < requests.Length && inFlight.Count < window; next++)
                    {
                        inFlight.Add((next, model.CompleteAsync(model.Tokenizer.EncodePrompt(requests[next].Prompt), requests[next].Parameters, cancel.Token)));
                    }

                    var done = Task.WhenAny(inFlight.Select(f => f.Text)).GetAwaiter().GetResult();
                    var at = inFlight.FindIndex(f => f.Text == done);
                    texts[inFlight[at].Index] = done.GetAwaiter().GetResult();
                    inFlight.RemoveAt(at);
                }
            }
            catch
            {
                // One bad prompt fails the query: the others queued with it leave the batch at the next step.
                cancel.Cancel();
                throw;
            }
        }
        catch (ProntoException e)
        {
            throw functions.Fail(Name, name, e);
        }

        functions.CountGenerated(requests.Length);
        for (var i = 0; i < requests.Length; i++)
        {
            writer.WriteValue(texts[i], requests[i].Row);
        }
    }

    private static string? Text(IDuckDBDataReader reader, ulong row) =>
        reader.DuckDBType == DuckDBType.SqlNull || !reader.IsValid(row) ? null : reader.GetValue<string>(row);

    /// <summary>The temperature argument: any number (a literal such as 0.7 is a DECIMAL in DuckDB); NULL is greedy.</summary>
    private static float Temperature(ProntoSqlFunctions functions, IDuckDBDataReader reader, ulong row)
    {
        if (reader.DuckDBType == DuckDBType.SqlNull || !reader.IsValid(row))
        {
            return 0f;
        }

        return reader.DuckDBType switch
        {
            DuckDBType.Double => (float)reader.GetValue<double>(row),
            DuckDBType.Float => reader.GetValue<float>(row),
            DuckDBType.Decimal => (float)reader.GetValue<decimal>(row),
            DuckDBType.Integer => reader.GetValue<int>(row),
            DuckDBType.BigInt => reader.GetValue<long>(row),
            _ => throw functions.Fail(Name, null, ErrorCode.InvalidArgument, $"temperature must be a number, got {reader.DuckDBType}"),
        };
    }

    /// <summary>The seed argument: a non-negative integer; NULL draws from a random seed.</summary>
    private static ulong? Seed(ProntoSqlFunctions functions, IDuckDBDataReader reader, ulong row) =>
        Integer(functions, reader, row, "seed") is not { } value ? null
        : value >= 0 ? (ulong)value : throw functions.Fail(Name, null, ErrorCode.InvalidArgument, $"seed must not be negative, got {value}");

    private static int? Count(ProntoSqlFunctions functions, IDuckDBDataReader reader, ulong row) =>
        Integer(functions, reader, row, "max_tokens") is not { } value ? null
        : value is >= 1 and <= int.MaxValue ? (int)value
        : throw functions.Fail(Name, null, ErrorCode.InvalidArgument, $"max_tokens must be at least 1, got {value}");

    /// <summary>An integer argument named <paramref name="name"/>, or null for NULL.</summary>
    private static long? Integer(ProntoSqlFunctions functions, IDuckDBDataReader reader, ulong row, string name)
    {
        if (reader.DuckDBType == DuckDBType.SqlNull || !reader.IsValid(row))
        {
            return null;
        }

        return reader.DuckDBType switch
        {
            DuckDBType.Integer => reader.GetValue<int>(row),
            DuckDBType.BigInt => reader.GetValue<long>(row),
            DuckDBType.SmallInt => reader.GetValue<short>(row),
            DuckDBType.TinyInt => reader.GetValue<sbyte>(row),
            _ => throw functions.Fail(Name, null, ErrorCode.InvalidArgument, $"{name} must be an integer, got {reader.DuckDBType}"),
        };
    }
}
