using System.Globalization;
using Pronto.Core.Errors;

namespace Pronto.Core.Configuration;

/// <summary>
/// Pronto's own config.pbtxt <c>parameters</c>: every key under <c>pronto.</c> that Pronto reads, in one place.
/// Reading a config rejects any other <c>pronto.</c> key (a typo would otherwise be ignored); keys without the
/// prefix belong to backends and stay free. docs/model-repository.md describes each key.
/// </summary>
public static class ProntoParameters
{
    public const string Prefix = "pronto.";

    public const string Prepare = "pronto.prepare";
    public const string Produce = "pronto.produce";

    public const string TextVocab = "pronto.text.vocab";
    public const string TextLowercase = "pronto.text.lowercase";
    public const string TextMaxTokens = "pronto.text.max_tokens";
    public const string TextIdsInput = "pronto.text.ids_input";
    public const string TextMaskInput = "pronto.text.mask_input";
    public const string TextTypeInput = "pronto.text.type_input";

    public const string ImageInput = "pronto.image.input";
    public const string ImageHeight = "pronto.image.height";
    public const string ImageWidth = "pronto.image.width";
    public const string ImageResize = "pronto.image.resize";
    public const string ImageChannelOrder = "pronto.image.channel_order";
    public const string ImageScale = "pronto.image.scale";
    public const string ImageMean = "pronto.image.mean";
    public const string ImageStd = "pronto.image.std";
    public const string ImageMeanFile = "pronto.image.mean_file";
    public const string ImageMaxPixels = "pronto.image.max_pixels";

    public const string FieldsNames = "pronto.fields.names";
    public const string FieldsInput = "pronto.fields.input";

    public const string EmbeddingOutput = "pronto.embedding.output";
    public const string EmbeddingPooling = "pronto.embedding.pooling";
    public const string EmbeddingNormalize = "pronto.embedding.normalize";
    public const string EmbeddingMaskInput = "pronto.embedding.mask_input";

    public const string ClassifyOutput = "pronto.classify.output";
    public const string ClassifyActivation = "pronto.classify.activation";

    public const string BatchRunSize = "pronto.batch.run_size";
    public const string RejectNonFinite = "pronto.reject_non_finite";
    public const string DynamicBatchingEager = "pronto.dynamic_batching.eager";
    public const string IdleUnloadSeconds = "pronto.idle_unload_seconds";
    public const string QueueWaitBudgetMs = "pronto.queue_wait_budget_ms";

    public const string Generative = "pronto.generative";
    public const string GenerativeContextLength = "pronto.generative.context_length";
    public const string GenerativeMaxRunning = "pronto.generative.max_running";
    public const string GenerativeMaxWaiting = "pronto.generative.max_waiting";
    public const string GenerativeMaxStepTokens = "pronto.generative.max_step_tokens";
    public const string GenerativeMaxCacheTokens = "pronto.generative.max_cache_tokens";
    public const string GenerativeChatTemplate = "pronto.generative.chat_template";

    /// <summary>Every key Pronto reads, sorted.</summary>
    public static IReadOnlyList<string> Known { get; } =
    [
        BatchRunSize,
        ClassifyActivation, ClassifyOutput,
        DynamicBatchingEager,
        EmbeddingMaskInput, EmbeddingNormalize, EmbeddingOutput, EmbeddingPooling,
        FieldsInput, FieldsNames,
        Generative, GenerativeChatTemplate, GenerativeContextLength, GenerativeMaxCacheTokens, GenerativeMaxRunning, GenerativeMaxStepTokens, GenerativeMaxWaiting,
        IdleUnloadSeconds,
        ImageChannelOrder, ImageHeight, ImageInput, ImageMaxPixels, ImageMean, ImageMeanFile, ImageResize, ImageScale, ImageStd, ImageWidth,
        Prepare, Produce,
        QueueWaitBudgetMs,
        RejectNonFinite,
        TextIdsInput, TextLowercase, TextMaskInput, TextMaxTokens, TextTypeInput, TextVocab,
    ];

    private static readonly HashSet<string> KnownSet = new(Known, StringComparer.Ordinal);

    public static bool IsKnown(string key) => KnownSet.Contains(key);

    /// <summary>
    /// Checks at load what no processing step checks: that each group of keys has the step it configures
    /// (<c>pronto.text.*</c> needs <c>pronto.prepare: text</c>, ...), and the values of the serving keys, so a
    /// setting that would be ignored fails the load instead. Processing values are checked where they are read.
    /// </summary>
    public static void Validate(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in config.Parameters)
        {
            if (!key.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // pronto.<step>.<setting>: the step is a preparer or a producer, which the model must declare.
            var rest = key.AsSpan(Prefix.Length);
            var dot = rest.IndexOf('.');
            var step = dot < 0 ? string.Empty : rest[..dot].ToString();
            var stepKey = step switch
            {
                "text" or "image" or "fields" => Prepare,
                "embedding" or "classify" => Produce,
                "generative" => Generative,
                _ => null,
            };
            if (stepKey == Generative && config.Parameters.GetValueOrDefault(Generative) != "true")
            {
                ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' configures generation, but '{Generative}' is not \"true\"");
            }
            else if (stepKey is not null && stepKey != Generative && config.Parameters.GetValueOrDefault(stepKey) != step)
            {
                var actual = config.Parameters.TryGetValue(stepKey, out var declared) ? $"is '{declared}'" : "is not set";
                ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' configures {stepKey} '{step}', but the model's {stepKey} {actual}");
            }

            switch (key)
            {
                // Eager without dynamic_batching and a run size on a model that does not batch stay allowed:
                // switching batching off should not mean deleting its settings too.
                case RejectNonFinite or DynamicBatchingEager or Generative:
                    RequireBool(config, key, value);
                    break;
                case GenerativeContextLength or GenerativeMaxRunning or GenerativeMaxWaiting or GenerativeMaxStepTokens or GenerativeMaxCacheTokens:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                    {
                        ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be a positive integer, got '{value}'");
                    }

                    break;
                case GenerativeChatTemplate:
                    if (value is not ("chatml" or "model"))
                    {
                        ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be chatml or model, got '{value}'");
                    }

                    break;
                case BatchRunSize:
                    var limit = config.MaxBatchSize > 0 ? config.MaxBatchSize : int.MaxValue;
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 1 || size > limit)
                    {
                        var range = config.MaxBatchSize > 0 ? $"an integer from 1 to max_batch_size {config.MaxBatchSize}" : "a positive integer";
                        ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be {range}, got '{value}'");
                    }

                    break;
                case IdleUnloadSeconds:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be a whole number of seconds (0: never), got '{value}'");
                    }

                    break;
                case QueueWaitBudgetMs:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be a whole number of milliseconds (0: no budget), got '{value}'");
                    }

                    break;
                default:
                    break;
            }
        }
    }

    private static void RequireBool(ModelConfig config, string key, string value)
    {
        if (value is not ("true" or "false"))
        {
            ProntoErrors.InvalidArgument($"model '{config.Name}': config parameter '{key}' must be true or false, got '{value}'");
        }
    }
}
