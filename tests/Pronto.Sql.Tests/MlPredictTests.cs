using DuckDB.NET.Data;
using Pronto.Testing;
using static Pronto.Sql.Tests.ScalarFunctionTests;

namespace Pronto.Sql.Tests;

[Collection(BundledCollection.Name)]
public sealed class MlPredictTests(BundledRepositoryFixture bundled)
{
    [Fact]
    public void ReturnsTheQueryColumnsThenPredictionsMappedByName()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(50));
        const string Query = "SELECT * FROM ml_predict('fraud', 'SELECT id, hour, amount, customer_avg_amount, merchant_category, distance_km, txn_last_hour FROM tx') ORDER BY id";

        var columns = sql.Columns(Query);
        var rows = sql.Rows(Query);
        var expected = sql.Rows($"SELECT pronto_label('fraud', {FraudArgs}), pronto_predict('fraud', {FraudArgs}) FROM tx ORDER BY id");

        Assert.Equal(["id", "hour", "amount", "customer_avg_amount", "merchant_category", "distance_km", "txn_last_hour", "predicted_label", "predicted_probability"], columns);
        Assert.Equal(50, rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.Equal(expected[r][0], rows[r][7]);
            Assert.Equal(expected[r][1], rows[r][8]);
        }
    }

    [Fact]
    public void AMissingColumnIsASqlErrorNamingIt()
    {
        using var sql = new SqlSession(bundled.Service);
        sql.Execute(CreateTransactions(5));

        var error = Assert.Throws<DuckDBException>(() => sql.Rows("SELECT * FROM ml_predict('fraud', 'SELECT id, amount FROM tx')"));

        Assert.Contains("model 'fraud' needs a column 'customer_avg_amount'; the row has id, amount", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APersistentDatabaseKeepsTablesAndTakesTheFunctionsAgain()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pronto-sql-{Guid.NewGuid():N}.duckdb");
        try
        {
            using (var first = new SqlSession(bundled.Service, path))
            {
                first.Execute(CreateTransactions(10));
                first.Execute($"CREATE TABLE scored AS SELECT id, pronto_predict('fraud', {FraudArgs}) AS p FROM tx");
            }

            using var second = new SqlSession(bundled.Service, path);
            var rows = second.Rows($"SELECT s.p, pronto_predict('fraud', {FraudArgs}) FROM tx JOIN scored s USING (id) ORDER BY id");
            var predicted = second.Rows("SELECT count(*) FROM ml_predict('fraud', 'FROM tx')");

            Assert.Equal(10, rows.Count);
            Assert.All(rows, r => Assert.Equal(r[0], r[1]));
            Assert.Equal(10L, predicted[0][0]);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".wal");
        }
    }
}
