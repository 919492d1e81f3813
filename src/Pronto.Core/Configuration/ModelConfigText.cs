using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Configuration;

/// <summary>
/// Reads and writes Triton's <c>config.pbtxt</c> (protobuf text format) for the part of the schema that
/// <see cref="ModelConfig"/> holds (<c>model_warmup</c> included). Other fields of Triton's schema are parsed and
/// ignored, because real Triton configs carry many (<c>optimization</c>, <c>sequence_batching</c>, ...); a field the
/// schema does not have, and a <c>pronto.*</c> parameter Pronto does not know, is an error (<see cref="ModelConfigSchema"/>).
/// </summary>
public static class ModelConfigText
{
    private const string Source = "config.pbtxt";

    private static readonly string[] InstanceKinds = ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"];

    /// <summary>Parses <paramref name="text"/>; <paramref name="defaultName"/> names the model when the config does not.</summary>
    /// <exception cref="ProntoException">InvalidArgument, with line and column, for syntax errors, unknown fields and bad values.</exception>
    public static ModelConfig Parse(string text, string defaultName) => Parse(text, defaultName, Source);

    /// <summary>As <see cref="Parse(string, string)"/>, with errors naming <paramref name="source"/> (the file's path).</summary>
    public static ModelConfig Parse(string text, string defaultName, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(defaultName);
        ArgumentNullException.ThrowIfNull(source);

        var fields = TextFormatReader.Read(text, source);
        ModelConfigSchema.ModelConfig.Check(fields);
        var config = new ModelConfig { Name = defaultName };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in fields)
        {
            switch (f.Name)
            {
                case "name":
                    Singular(seen, f);
                    config.Name = GetString(f);
                    break;
                case "platform":
                    Singular(seen, f);
                    config.Platform = GetString(f);
                    break;
                case "backend":
                    Singular(seen, f);
                    config.Backend = GetString(f);
                    break;
                case "max_batch_size":
                    Singular(seen, f);
                    config.MaxBatchSize = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                case "default_model_filename":
                    Singular(seen, f);
                    config.DefaultModelFilename = GetString(f);
                    break;
                case "input":
                    config.Inputs.Add(ParseTensor(f));
                    break;
                case "output":
                    config.Outputs.Add(ParseTensor(f));
                    break;
                case "version_policy":
                    Singular(seen, f);
                    config.VersionPolicy = ParseVersionPolicy(f);
                    break;
                case "instance_group":
                    config.InstanceGroups.Add(ParseInstanceGroup(f));
                    break;
                case "dynamic_batching":
                    Singular(seen, f);
                    config.DynamicBatching = ParseDynamicBatching(f);
                    break;
                case "parameters":
                    ParseParameter(f, config.Parameters);
                    break;
                case "model_warmup":
                    config.ModelWarmup.Add(ParseWarmup(f));
                    break;
                case "response_cache":
                    Singular(seen, f);
                    config.ResponseCache = ParseResponseCache(f);
                    break;
                default:
                    // Unknown to Pronto, not necessarily to Triton: skip it.
                    break;
            }
        }

        return config;
    }

    /// <summary>Writes canonical Triton-style text that <see cref="Parse"/> reads back to an equal config.</summary>
    public static string Format(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);

        var w = new StringBuilder();
        w.Append("name: ").Append(Quote(config.Name)).Append('\n');
        w.Append("platform: ").Append(Quote(config.Platform)).Append('\n');
        if (config.Backend is not null)
        {
            w.Append("backend: ").Append(Quote(config.Backend)).Append('\n');
        }

        w.Append("max_batch_size: ").Append(Int(config.MaxBatchSize)).Append('\n');

        // Latest(1) is what Parse assumes when the block is absent.
        var policy = config.VersionPolicy;
        if (policy is not { Kind: VersionPolicyKind.Latest, LatestCount: 1 })
        {
            w.Append("version_policy: { ");
            switch (policy.Kind)
            {
                case VersionPolicyKind.All:
                    w.Append("all: { }");
                    break;
                case VersionPolicyKind.Specific:
                    w.Append("specific: { versions: ").Append(List(policy.Versions)).Append(" }");
                    break;
                default:
                    w.Append("latest: { num_versions: ").Append(Int(policy.LatestCount)).Append(" }");
                    break;
            }

            w.Append(" }\n");
        }

        FormatTensors(w, "input", config.Inputs);
        FormatTensors(w, "output", config.Outputs);

        if (config.InstanceGroups.Count > 0)
        {
            w.Append("instance_group [\n");
            for (var i = 0; i < config.InstanceGroups.Count; i++)
            {
                var g = config.InstanceGroups[i];
                w.Append("  {\n");
                w.Append("    count: ").Append(Int(g.Count)).Append('\n');
                w.Append("    kind: ").Append(g.Kind).Append('\n');
                w.Append(i + 1 < config.InstanceGroups.Count ? "  },\n" : "  }\n");
            }

            w.Append("]\n");
        }

        if (config.DynamicBatching is { } db)
        {
            FormatDynamicBatching(w, db);
        }

        if (config.ResponseCache)
        {
            w.Append("response_cache {\n  enable: true\n}\n");
        }

        if (config.DefaultModelFilename is not null)
        {
            w.Append("default_model_filename: ").Append(Quote(config.DefaultModelFilename)).Append('\n');
        }

        // Sorted so the output does not depend on dictionary insertion order.
        var keys = new List<string>(config.Parameters.Keys);
        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            w.Append("parameters {\n");
            w.Append("  key: ").Append(Quote(key)).Append('\n');
            w.Append("  value: { string_value: ").Append(Quote(config.Parameters[key])).Append(" }\n");
            w.Append("}\n");
        }

        if (config.ModelWarmup.Count > 0)
        {
            FormatWarmup(w, config.ModelWarmup);
        }

        return w.ToString();
    }

    private static TensorConfig ParseTensor(TextField message)
    {
        RequireMessage(message);
        string? name = null;
        var dataType = DataType.Invalid;
        var dims = new List<long>();
        string? labelFilename = null;
        long[]? reshape = null;
        var optional = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            switch (f.Name)
            {
                case "name":
                    Singular(seen, f);
                    name = GetString(f);
                    break;
                case "data_type":
                    Singular(seen, f);
                    dataType = GetDataType(f, name);
                    break;
                case "dims":
                    // Triton allows -1 for a variable dimension and nothing smaller.
                    dims.Add(GetInteger(f, -1, long.MaxValue));
                    break;
                case "label_filename":
                    Singular(seen, f);
                    labelFilename = GetString(f);
                    break;
                case "reshape":
                    Singular(seen, f);
                    reshape = ParseReshape(f);
                    break;
                case "optional":
                    Singular(seen, f);
                    optional = GetBool(f);
                    break;
                default:
                    break;
            }
        }

        return new TensorConfig
        {
            Name = name ?? string.Empty,
            DataType = dataType,
            Dims = [.. dims],
            LabelFilename = labelFilename,
            Reshape = reshape,
            Optional = optional,
        };
    }

    private static long[] ParseReshape(TextField message)
    {
        RequireMessage(message);
        var shape = new List<long>();
        foreach (var f in message.Fields)
        {
            if (f.Name == "shape")
            {
                shape.Add(GetInteger(f, -1, long.MaxValue));
            }
        }

        return [.. shape];
    }

    private static DataType GetDataType(TextField f, string? tensorName)
    {
        var value = GetEnum(f);

        // TYPE_INVALID is the proto default; accepting it keeps Format/Parse symmetric for an unset type.
        if (value == "TYPE_INVALID")
        {
            return DataType.Invalid;
        }

        if (!DataTypes.TryParseConfigName(value, out var type))
        {
            var of = tensorName is null ? string.Empty : $" of '{tensorName}'";
            throw ValueError(f, $"unknown data_type{of}: '{value}' (expected TYPE_BOOL, TYPE_UINT8..TYPE_UINT64, TYPE_INT8..TYPE_INT64, TYPE_FP16, TYPE_FP32, TYPE_FP64, TYPE_BF16 or TYPE_STRING)");
        }

        return type;
    }

    private static VersionPolicy ParseVersionPolicy(TextField message)
    {
        RequireMessage(message);
        VersionPolicy? policy = null;
        foreach (var f in message.Fields)
        {
            VersionPolicy? chosen = f.Name switch
            {
                "latest" => ParseLatest(f),
                "all" => ParseAll(f),
                "specific" => ParseSpecific(f),
                _ => null,
            };
            if (chosen is null)
            {
                continue;
            }

            // latest/all/specific are a oneof: two of them is a contradiction, not an override.
            if (policy is not null)
            {
                throw NameError(f, "version_policy takes only one of 'latest', 'all' or 'specific'");
            }

            policy = chosen;
        }

        return policy ?? VersionPolicy.Latest(1);
    }

    private static VersionPolicy ParseLatest(TextField message)
    {
        RequireMessage(message);
        long count = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            if (f.Name == "num_versions")
            {
                Singular(seen, f);
                count = GetInteger(f, 1, uint.MaxValue);
            }
        }

        if (count == 0)
        {
            throw ValueError(message, "version_policy latest needs num_versions of at least 1");
        }

        return VersionPolicy.Latest((int)Math.Min(count, int.MaxValue));
    }

    private static VersionPolicy ParseAll(TextField message)
    {
        RequireMessage(message);
        return VersionPolicy.All;
    }

    private static VersionPolicy ParseSpecific(TextField message)
    {
        RequireMessage(message);
        var versions = new List<long>();
        foreach (var f in message.Fields)
        {
            if (f.Name == "versions")
            {
                versions.Add(GetInteger(f, long.MinValue, long.MaxValue));
            }
        }

        return VersionPolicy.Specific([.. versions]);
    }

    private static InstanceGroup ParseInstanceGroup(TextField message)
    {
        RequireMessage(message);
        long count = 0;
        string? kind = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            switch (f.Name)
            {
                case "count":
                    Singular(seen, f);
                    count = GetInteger(f, 0, int.MaxValue);
                    break;
                case "kind":
                    Singular(seen, f);
                    kind = GetEnum(f);
                    if (Array.IndexOf(InstanceKinds, kind) < 0)
                    {
                        throw ValueError(f, $"unknown instance_group kind '{kind}' (expected KIND_AUTO, KIND_CPU, KIND_GPU or KIND_MODEL)");
                    }

                    break;
                default:
                    break;
            }
        }

        // Triton normalizes an absent or zero count to one instance.
        var instances = count < 1 ? 1 : (int)count;
        return kind is null ? new InstanceGroup(instances) : new InstanceGroup(instances, kind);
    }

    /// <summary>Triton's <c>ModelResponseCache</c>: one field, <c>enable</c> (false when absent).</summary>
    private static bool ParseResponseCache(TextField message)
    {
        RequireMessage(message);
        var enable = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            if (f.Name == "enable")
            {
                Singular(seen, f);
                enable = GetBool(f);
            }
        }

        return enable;
    }

    private static DynamicBatchingConfig ParseDynamicBatching(TextField message)
    {
        RequireMessage(message);
        var db = new DynamicBatchingConfig();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            switch (f.Name)
            {
                case "preferred_batch_size":
                    db.PreferredBatchSize.Add((int)GetInteger(f, 1, int.MaxValue));
                    break;
                case "max_queue_delay_microseconds":
                    Singular(seen, f);
                    db.MaxQueueDelayMicroseconds = GetInteger(f, 0, long.MaxValue);
                    break;
                case "preserve_ordering":
                    Singular(seen, f);
                    db.PreserveOrdering = GetBool(f);
                    break;
                case "priority_levels":
                    Singular(seen, f);
                    db.PriorityLevels = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                case "default_priority_level":
                    Singular(seen, f);
                    db.DefaultPriorityLevel = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                case "default_queue_policy":
                    Singular(seen, f);
                    db.DefaultQueuePolicy = ParseQueuePolicy(f);
                    break;
                default:
                    break;
            }
        }

        return db;
    }

    private static QueuePolicy ParseQueuePolicy(TextField message)
    {
        RequireMessage(message);
        var policy = new QueuePolicy();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            switch (f.Name)
            {
                case "timeout_action":
                    Singular(seen, f);
                    policy.TimeoutAction = GetEnum(f) switch
                    {
                        "REJECT" => TimeoutAction.Reject,
                        "DELAY" => TimeoutAction.Delay,
                        var other => throw ValueError(f, $"unknown timeout_action '{other}' (expected REJECT or DELAY)"),
                    };
                    break;
                case "default_timeout_microseconds":
                    Singular(seen, f);
                    policy.DefaultTimeoutMicroseconds = GetInteger(f, 0, long.MaxValue);
                    break;
                case "allow_timeout_override":
                    Singular(seen, f);
                    policy.AllowTimeoutOverride = GetBool(f);
                    break;
                case "max_queue_size":
                    Singular(seen, f);
                    policy.MaxQueueSize = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                default:
                    break;
            }
        }

        return policy;
    }

    /// <summary>One map entry <c>{ key: "k" value: { string_value: "v" } }</c>; a later entry for the same key wins, as in protobuf maps.</summary>
    private static void ParseParameter(TextField message, Dictionary<string, string> into)
    {
        RequireMessage(message);
        var key = string.Empty;
        var value = string.Empty;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            if (f.Name == "key")
            {
                Singular(seen, f);
                key = GetString(f);
                CheckProntoKey(f, key);
            }
            else if (f.Name == "value")
            {
                Singular(seen, f);
                RequireMessage(f);
                foreach (var v in f.Fields)
                {
                    if (v.Name == "string_value")
                    {
                        value = GetString(v);
                    }
                }
            }
        }

        into[key] = value;
    }

    /// <summary>Keys under <c>pronto.</c> are Pronto's own, so an unknown one is a typo; other keys belong to backends and stay free.</summary>
    private static void CheckProntoKey(TextField f, string key)
    {
        if (key.StartsWith(ProntoParameters.Prefix, StringComparison.Ordinal) && !ProntoParameters.IsKnown(key))
        {
            var hint = ModelConfigSchema.Closest(key, ProntoParameters.Known) is { } near ? $" (did you mean '{near}'?)" : string.Empty;
            throw ValueError(f, $"unknown Pronto parameter '{key}'{hint}; Pronto's parameters are {string.Join(", ", ProntoParameters.Known)}");
        }
    }

    /// <summary>One <c>model_warmup</c> sample; the checks that need the model (names, shapes) come when it runs.</summary>
    private static ModelWarmup ParseWarmup(TextField message)
    {
        RequireMessage(message);
        var sample = new ModelWarmup { Name = string.Empty };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            switch (f.Name)
            {
                case "name":
                    Singular(seen, f);
                    sample.Name = GetString(f);
                    break;
                case "batch_size":
                    Singular(seen, f);
                    sample.BatchSize = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                case "count":
                    Singular(seen, f);
                    sample.Count = (int)GetInteger(f, 0, int.MaxValue);
                    break;
                case "inputs":
                    ParseWarmupInput(f, sample);
                    break;
                default:
                    break;
            }
        }

        return sample;
    }

    /// <summary>One map entry <c>{ key: "x" value { data_type dims zero_data|random_data|input_data_file } }</c>; a later entry for the same key wins.</summary>
    private static void ParseWarmupInput(TextField message, ModelWarmup sample)
    {
        RequireMessage(message);
        var input = new WarmupInput { Name = string.Empty };
        TextField? source = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            if (f.Name == "key")
            {
                Singular(seen, f);
                input.Name = GetString(f);
            }
            else if (f.Name == "value")
            {
                Singular(seen, f);
                RequireMessage(f);
                source = f;
            }
        }

        var dims = new List<long>();
        TextField? data = null;
        var valueSeen = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<TextField> value = source is null ? Array.Empty<TextField>() : source.Fields;
        foreach (var f in value)
        {
            switch (f.Name)
            {
                case "data_type":
                    Singular(valueSeen, f);
                    input.DataType = GetDataType(f, input.Name);
                    break;
                case "dims":
                    dims.Add(GetInteger(f, -1, long.MaxValue));
                    break;
                case "zero_data" or "random_data" or "input_data_file":
                    // A oneof: two of them is a contradiction. Triton does not look at the bool's value, only that it is set.
                    if (data is not null)
                    {
                        throw NameError(f, $"model_warmup input '{input.Name}' takes only one of zero_data, random_data or input_data_file");
                    }

                    data = f;
                    if (f.Name == "input_data_file")
                    {
                        input.Data = WarmupData.File;
                        input.InputDataFile = GetString(f);
                    }
                    else
                    {
                        _ = GetBool(f);
                        input.Data = f.Name == "zero_data" ? WarmupData.Zero : WarmupData.Random;
                    }

                    break;
                default:
                    break;
            }
        }

        if (data is null)
        {
            throw ValueError(source ?? message, $"model_warmup input '{input.Name}' needs one of zero_data, random_data or input_data_file");
        }

        input.Dims = [.. dims];
        _ = sample.Inputs.RemoveAll(i => i.Name == input.Name);
        sample.Inputs.Add(input);
    }

    private static void Singular(HashSet<string> seen, TextField f)
    {
        if (f.InList)
        {
            throw NameError(f, $"'{f.Name}' is not a repeated field and cannot take a list");
        }

        if (!seen.Add(f.Name))
        {
            throw NameError(f, $"'{f.Name}' is given more than once");
        }
    }

    private static void RequireMessage(TextField f)
    {
        if (f.Kind != TextValueKind.Message)
        {
            throw ValueError(f, $"expected '{{' to start the '{f.Name}' message");
        }
    }

    private static string GetString(TextField f) =>
        f.Kind == TextValueKind.String ? f.Scalar : throw ValueError(f, $"expected a quoted string for '{f.Name}', found {Found(f)}");

    private static string GetEnum(TextField f) =>
        f.Kind == TextValueKind.Identifier ? f.Scalar : throw ValueError(f, $"expected an enum name for '{f.Name}', found {Found(f)}");

    private static bool GetBool(TextField f)
    {
        if (f.Kind is TextValueKind.Identifier or TextValueKind.Number)
        {
            switch (f.Scalar)
            {
                case "true" or "True" or "t" or "1":
                    return true;
                case "false" or "False" or "f" or "0":
                    return false;
                default:
                    break;
            }
        }

        throw ValueError(f, $"expected true or false for '{f.Name}', found {Found(f)}");
    }

    /// <summary>Parses an integer literal as protobuf does (decimal, 0x hex, leading-0 octal) and checks it against the field's range.</summary>
    private static long GetInteger(TextField f, long min, long max)
    {
        if (f.Kind != TextValueKind.Number || (!TryParseInteger(f.Scalar, out var value, out var overflow) && !overflow))
        {
            throw ValueError(f, $"expected an integer for '{f.Name}', found {Found(f)}");
        }

        if (overflow || value < min || value > max)
        {
            var range = max == long.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            throw ValueError(f, $"'{f.Name}' must be {range}, found {f.Scalar}");
        }

        return value;
    }

    private static bool TryParseInteger(string text, out long value, out bool overflow)
    {
        value = 0;
        overflow = false;
        var negative = text.StartsWith('-');
        var digits = negative ? text.AsSpan(1) : text.AsSpan();
        var radix = 10;
        if (digits.Length > 2 && digits[0] == '0' && (digits[1] is 'x' or 'X'))
        {
            radix = 16;
            digits = digits[2..];
        }
        else if (digits.Length > 1 && digits[0] == '0')
        {
            radix = 8;
            digits = digits[1..];
        }

        if (digits.IsEmpty)
        {
            return false;
        }

        // Accumulate the magnitude in ulong so long.MinValue still parses.
        ulong magnitude = 0;
        foreach (var c in digits)
        {
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix)
            {
                return false;
            }

            if (magnitude > (ulong.MaxValue - (ulong)d) / (ulong)radix)
            {
                overflow = true;
            }
            else
            {
                magnitude = (magnitude * (ulong)radix) + (ulong)d;
            }
        }

        if (overflow)
        {
            return false;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                overflow = true;
                return false;
            }

            value = (long)(0 - magnitude);
            return true;
        }

        if (magnitude > long.MaxValue)
        {
            overflow = true;
            return false;
        }

        value = (long)magnitude;
        return true;
    }

    private static string Found(TextField f) => f.Kind switch
    {
        TextValueKind.Message => "a message",
        TextValueKind.String => $"\"{f.Scalar}\"",
        _ => $"'{f.Scalar}'",
    };

    private static ProntoException ValueError(TextField f, string message) =>
        TextFormatReader.Error(f.Source, f.ValueLine, f.ValueColumn, message);

    private static ProntoException NameError(TextField f, string message) =>
        TextFormatReader.Error(f.Source, f.Line, f.Column, message);

    private static void FormatTensors(StringBuilder w, string field, List<TensorConfig> tensors)
    {
        if (tensors.Count == 0)
        {
            return;
        }

        w.Append(field).Append(" [\n");
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            w.Append("  {\n");
            w.Append("    name: ").Append(Quote(t.Name)).Append('\n');
            if (t.DataType != DataType.Invalid)
            {
                w.Append("    data_type: ").Append(t.DataType.ToConfigName()).Append('\n');
            }

            w.Append("    dims: ").Append(List(t.Dims)).Append('\n');
            if (t.Reshape is not null)
            {
                w.Append("    reshape: { shape: ").Append(List(t.Reshape)).Append(" }\n");
            }

            if (t.LabelFilename is not null)
            {
                w.Append("    label_filename: ").Append(Quote(t.LabelFilename)).Append('\n');
            }

            if (t.Optional)
            {
                w.Append("    optional: true\n");
            }

            w.Append(i + 1 < tensors.Count ? "  },\n" : "  }\n");
        }

        w.Append("]\n");
    }

    private static void FormatDynamicBatching(StringBuilder w, DynamicBatchingConfig db)
    {
        w.Append("dynamic_batching {\n");
        if (db.PreferredBatchSize.Count > 0)
        {
            var sizes = new long[db.PreferredBatchSize.Count];
            for (var i = 0; i < sizes.Length; i++)
            {
                sizes[i] = db.PreferredBatchSize[i];
            }

            w.Append("  preferred_batch_size: ").Append(List(sizes)).Append('\n');
        }

        if (db.MaxQueueDelayMicroseconds != 0)
        {
            w.Append("  max_queue_delay_microseconds: ").Append(Int(db.MaxQueueDelayMicroseconds)).Append('\n');
        }

        if (db.PreserveOrdering)
        {
            w.Append("  preserve_ordering: true\n");
        }

        if (db.PriorityLevels != 0)
        {
            w.Append("  priority_levels: ").Append(Int(db.PriorityLevels)).Append('\n');
        }

        if (db.DefaultPriorityLevel != 0)
        {
            w.Append("  default_priority_level: ").Append(Int(db.DefaultPriorityLevel)).Append('\n');
        }

        var q = db.DefaultQueuePolicy;
        if (q.TimeoutAction != TimeoutAction.Reject || q.DefaultTimeoutMicroseconds != 0 || q.AllowTimeoutOverride || q.MaxQueueSize != 0)
        {
            w.Append("  default_queue_policy {\n");
            if (q.TimeoutAction != TimeoutAction.Reject)
            {
                w.Append("    timeout_action: DELAY\n");
            }

            if (q.DefaultTimeoutMicroseconds != 0)
            {
                w.Append("    default_timeout_microseconds: ").Append(Int(q.DefaultTimeoutMicroseconds)).Append('\n');
            }

            if (q.AllowTimeoutOverride)
            {
                w.Append("    allow_timeout_override: true\n");
            }

            if (q.MaxQueueSize != 0)
            {
                w.Append("    max_queue_size: ").Append(Int(q.MaxQueueSize)).Append('\n');
            }

            w.Append("  }\n");
        }

        w.Append("}\n");
    }

    private static void FormatWarmup(StringBuilder w, List<ModelWarmup> samples)
    {
        w.Append("model_warmup [\n");
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            w.Append("  {\n");
            w.Append("    name: ").Append(Quote(sample.Name)).Append('\n');
            w.Append("    batch_size: ").Append(Int(sample.BatchSize)).Append('\n');
            foreach (var input in sample.Inputs)
            {
                w.Append("    inputs {\n");
                w.Append("      key: ").Append(Quote(input.Name)).Append('\n');
                w.Append("      value: { ");
                if (input.DataType != DataType.Invalid)
                {
                    w.Append("data_type: ").Append(input.DataType.ToConfigName()).Append(' ');
                }

                w.Append("dims: ").Append(List(input.Dims)).Append(' ');
                w.Append(input.Data switch
                {
                    WarmupData.Random => "random_data: true",
                    WarmupData.File => "input_data_file: " + Quote(input.InputDataFile ?? string.Empty),
                    _ => "zero_data: true",
                });
                w.Append(" }\n");
                w.Append("    }\n");
            }

            if (sample.Count != 0)
            {
                w.Append("    count: ").Append(Int(sample.Count)).Append('\n');
            }

            w.Append(i + 1 < samples.Count ? "  },\n" : "  }\n");
        }

        w.Append("]\n");
    }

    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string List(IReadOnlyList<long> values)
    {
        if (values.Count == 0)
        {
            return "[ ]";
        }

        var s = new StringBuilder("[ ");
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                s.Append(", ");
            }

            s.Append(Int(values[i]));
        }

        return s.Append(" ]").ToString();
    }

    /// <summary>Quotes with C escapes; other control characters become octal so the output stays one line per field.</summary>
    private static string Quote(string value)
    {
        var s = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': s.Append("\\\""); break;
                case '\\': s.Append("\\\\"); break;
                case '\n': s.Append("\\n"); break;
                case '\r': s.Append("\\r"); break;
                case '\t': s.Append("\\t"); break;
                case < ' ' or '\x7F':
                    s.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
                    break;
                default:
                    s.Append(c);
                    break;
            }
        }

        return s.Append('"').ToString();
    }
}
