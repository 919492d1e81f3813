using DuckDB.NET.Data;
using Pronto.Core.Inference;

namespace Pronto.Sql;

/// <summary>
/// The library entry point: registers Pronto's SQL functions on any open <see cref="DuckDBConnection"/>.
/// </summary>
/// <example>
/// <code>
/// using var connection = new DuckDBConnection("DataSource=:memory:");
/// connection.Open();
/// var functions = ProntoSql.Register(connection, new InferenceService(repository));
/// // SELECT pronto_predict('fraud', amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour) FROM tx
/// </code>
/// </example>
public static class ProntoSql
{
    /// <summary>
    /// Registers <c>pronto_predict</c>, <c>pronto_label</c>, <c>pronto_embed</c>, <c>pronto_generate</c> and the <c>ml_predict</c> table macro
    /// on <paramref name="connection"/> (open). Models are looked up by name at query time through
    /// <paramref name="service"/>'s repository, so a model loaded later is usable without registering again;
    /// <c>pronto_embed</c>'s <c>FLOAT[n]</c> size is fixed now, from the text-embedding models loaded at this point
    /// (or <paramref name="embeddingDimensions"/>). With <paramref name="trainer"/>, also the <c>pronto_train</c> table
    /// function. The functions live as long as the connection.
    /// </summary>
    public static ProntoSqlFunctions Register(DuckDBConnection connection, InferenceService service, int? embeddingDimensions = null, ISqlTrainer? trainer = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(service);
        var functions = new ProntoSqlFunctions(service);
        ScalarFunctions.Register(connection, functions);
        GenerateFunction.Register(connection, functions);
        var dimensions = embeddingDimensions ?? EmbedFunction.LoadedDimensions(service.Repository);
        if (dimensions > 0)
        {
            EmbedFunction.Register(connection, functions, dimensions);
        }

        functions.EmbeddingDimensions = dimensions;
        MlPredict.Register(connection);
        if (trainer is not null)
        {
            TrainFunction.Register(connection, functions, trainer);
        }

        return functions;
    }
}
