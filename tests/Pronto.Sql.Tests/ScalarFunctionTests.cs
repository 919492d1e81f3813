using System.Globalization;
using DuckDB.NET.Data;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Sql.Tests;

[Collection(BundledCollection.Name)]
public sealed class ScalarFunctionTests(BundledRepositoryFixture bundled)
{
    internal const string FraudArgs = "amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour";

    /// <summary>Transactions with DECIMAL, DOUBLE and INTEGER columns, so every numeric reader is exercised.</summary>
    internal static string CreateTransactions(int rows, string table = "tx") => string.Create(CultureInfo.InvariantCulture, $"""
        CREATE TABLE {table} AS SELECT i AS id,
            (i % 97) * 13.5 + 1 AS amount, 50.0 + (i % 7) * 10 AS customer_avg_amount,
            (i % 12)::INTEGER AS merchant_category, (i % 24)::INTEGER AS hour,
            ((i * 37) % 500)::DOUBLE / 3 AS distance_km, (i % 9)::INTEGER AS txn_last_hour
        FROM range({rows}) t(i)
        """);

    [Fact]
    public void PredictAndLabelEqualADirectEngineRun()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(300));

        var rows = sql.Rows($"SELECT {FraudArgs}, pronto_predict('fraud', {FraudArgs}), pronto_label('fraud', {FraudArgs}) FROM tx ORDER BY id");

        var features = new float[rows.Count * 6];
        for (var r = 0; r < rows.Count; r++)
        {
            for (var k = 0; k < 6; k++)
            {
                features[(r * 6) + k] = Convert.ToSingle(rows[r][k], CultureInfo.InvariantCulture);
            }
        }

        var (probabilities, labels) = DirectFraud(features, rows.Count);
        Assert.Contains(labels, l => l == "fraud");
        Assert.Contains(labels, l => l == "legit");
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.Equal(probabilities[(r * 2) + 1], (float)rows[r][6]!);
            Assert.Equal(labels[r], (string)rows[r][7]!);
        }
    }

    [Fact]
    public void EmbedEqualsADirectRunAndRanksTheParaphraseFirst()
    {
        using var sql = new SqlSession(bundled.Service);
        string[] texts = ["the weather is sunny today", "I still have not received my refund", "how do I reset my password"];
        sql.Execute("CREATE TABLE tickets (id INTEGER, text VARCHAR)");
        for (var i = 0; i < texts.Length; i++)
        {
            sql.Execute(string.Create(CultureInfo.InvariantCulture, $"INSERT INTO tickets VALUES ({i}, '{texts[i]}')"));
        }

        Assert.Equal(384, sql.Functions.EmbeddingDimensions);
        Assert.Equal("FLOAT[384]", sql.Scalar("SELECT typeof(pronto_embed('minilm', 'x'))"));

        var ranked = sql.Rows("""
            SELECT id, array_cosine_similarity(pronto_embed('minilm', text), pronto_embed('minilm', 'refund not received')) AS score
            FROM tickets ORDER BY score DESC
            """);
        Assert.Equal(1, ranked[0][0]);

        var embedded = sql.Rows("SELECT pronto_embed('minilm', text) FROM tickets ORDER BY id");
        var direct = bundled.Service.InferDirect(new InferenceRequest
        {
            ModelName = "minilm",
            Inputs = [new NamedTensor("text", Tensor.FromStrings(texts))],
        }).Outputs[0].Tensor.ToArray<float>();
        for (var r = 0; r < texts.Length; r++)
        {
            var vector = ToFloats(embedded[r][0]!);
            Assert.Equal(384, vector.Length);
            for (var d = 0; d < 384; d++)
            {
                Assert.Equal(direct[(r * 384) + d], vector[d], 6);
            }
        }
    }

    [Fact]
    public void EachChunkIsOneEngineRun()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(5000));
        var before = Executions("fraud");

        var count = sql.Scalar($"SELECT count(pronto_predict('fraud', {FraudArgs})) FROM tx");

        // 5000 rows = DuckDB chunks of 2048 + 2048 + 904; fraud's max_batch_size 4096 holds a whole chunk.
        Assert.Equal(5000L, count);
        Assert.Equal(3, sql.Functions.ModelRuns);
        Assert.Equal(5000, sql.Functions.ModelRows);
        Assert.Equal(3, Executions("fraud") - before);
    }

    [Fact]
    public void AChunkLargerThanTheMaxBatchSizeSplitsIntoRuns()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute("CREATE TABLE texts AS SELECT 'ticket number ' || i AS text FROM range(200) t(i)");

        var count = sql.Scalar("SELECT count(pronto_embed('minilm', text)) FROM texts");

        // One chunk of 200 rows; minilm's offline run size (pronto.batch.run_size) is 32: 6 x 32 + 8.
        Assert.Equal(200L, count);
        Assert.Equal(7, sql.Functions.ModelRuns);
    }

    [Fact]
    public void ARowWithANullArgumentIsNull()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(10));
        sql.Execute("UPDATE tx SET hour = NULL WHERE id IN (2, 5)");
        sql.Execute("CREATE TABLE texts AS SELECT * FROM (VALUES (1, 'a refund'), (2, NULL)) v(id, text)");

        var rows = sql.Rows($"SELECT id, pronto_predict('fraud', {FraudArgs}), pronto_label('fraud', {FraudArgs}) FROM tx ORDER BY id");
        var embedded = sql.Rows("SELECT id, pronto_embed('minilm', text) FROM texts ORDER BY id");

        foreach (var row in rows)
        {
            var isNull = Convert.ToInt64(row[0], CultureInfo.InvariantCulture) is 2 or 5;
            Assert.Equal(isNull, row[1] is null);
            Assert.Equal(isNull, row[2] is null);
        }

        Assert.NotNull(embedded[0][1]);
        Assert.Null(embedded[1][1]);
        Assert.Null(sql.Scalar($"SELECT pronto_predict(NULL, {FraudArgs}) FROM tx LIMIT 1"));

        // NULL rows never reach the engine: 8 + 8 fraud rows (two calls), 1 text.
        Assert.Equal(17, sql.Functions.ModelRows);
    }

    [Theory]
    [InlineData("SELECT pronto_predict('nope', 1, 2)", "pronto_predict('nope'): unknown model 'nope'", ErrorCode.NotFound)]
    [InlineData("SELECT pronto_predict('fraud', 1, 2, 3, 4, 5)", "pronto_predict('fraud'): model 'fraud' takes 6 arguments after the model name (amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour), got 5", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_label('fraud', 1, 2, 'grocery', 4, 5, 6)", "pronto_label('fraud'): argument 4 (merchant_category) must be numeric, got VARCHAR", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_predict(42, 1)", "pronto_predict(): the first argument must be a model name (VARCHAR)", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_predict('minilm', 'some text')", "pronto_predict('minilm'): model 'minilm' gives 384 values per row", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_predict('resnet18', 1)", "pronto_predict('resnet18'): model 'resnet18' takes encoded image", ErrorCode.Unsupported)]
    [InlineData("SELECT pronto_embed('fraud', 'text')", "pronto_embed('fraud'): model 'fraud' is not a text-embedding model", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_embed('nope', 'text')", "pronto_embed('nope'): unknown model 'nope'", ErrorCode.NotFound)]
    [InlineData("SELECT pronto_predict('fraud', 1e39, 1, 1, 1, 1, 1)", "pronto_predict('fraud'): ", ErrorCode.InvalidArgument)]
    public void AFailureIsASqlErrorWithAMessageAndTheConnectionStaysUsable(string query, string message, ErrorCode code)
    {
        using var sql = new SqlSession(bundled.Service);

        var error = Assert.Throws<DuckDBException>(() => sql.Rows(query));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(code, sql.Functions.TakeLastFailure()?.Code);
        Assert.Equal(1, sql.Scalar("SELECT 1"));
    }

    [Fact]
    public void AStructArgumentMapsFieldsByName()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(20));

        var rows = sql.Rows($$"""
            SELECT pronto_predict('fraud', {{FraudArgs}}),
                   pronto_predict('fraud', {'TXN_LAST_HOUR': txn_last_hour, 'hour': hour, 'amount': amount, 'customer_avg_amount': customer_avg_amount,
                                            'merchant_category': merchant_category, 'distance_km': distance_km, 'id': id})
            FROM tx ORDER BY id
            """);

        Assert.All(rows, r => Assert.Equal(r[0], r[1]));
    }

    private long Executions(string model)
    {
        using var lease = bundled.Repository.Acquire(model);
        return lease.Model.Statistics.Snapshot().ExecutionCount;
    }

    private (float[] Probabilities, string[] Labels) DirectFraud(float[] features, int rows)
    {
        FieldsPreparer preparer;
        IReadOnlyList<string>? labels;
        using (var lease = bundled.Repository.Acquire("fraud"))
        {
            preparer = (FieldsPreparer)lease.Model.Processing.Preparer!;
            labels = lease.Model.Processing.GetLabels("probabilities");
        }

        var output = bundled.Service.InferDirect(new InferenceRequest { ModelName = "fraud", Inputs = [preparer.FromRows(features, rows)] }).Outputs[0].Tensor;
        return (output.ToArray<float>(), [.. Classification.TopK(output, 1, labels).Select(t => t[0].Label)]);
    }

    internal static float[] ToFloats(object value) => value switch
    {
        float[] array => array,
        System.Collections.IEnumerable items => [.. items.Cast<object>().Select(v => Convert.ToSingle(v, CultureInfo.InvariantCulture))],
        _ => throw new InvalidOperationException($"not a vector: {value.GetType()}"),
    };
}
