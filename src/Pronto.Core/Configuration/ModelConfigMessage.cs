using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Pronto.Core.Tensors;
using Message = Pronto.Core.Configuration.Protocol.ModelConfig;
using Proto = Pronto.Core.Configuration.Protocol;

namespace Pronto.Core.Configuration;

/// <summary>
/// The one mapping between Triton's <c>ModelConfig</c> message (Protos/model_config.proto) and Pronto's
/// <see cref="ModelConfig"/>: config.pbtxt is parsed into the message and read from it here, and config.pbtxt, the
/// REST <c>/config</c> JSON and gRPC's <c>ModelConfigResponse</c> are all written from the message built here.
/// Values the schema's types allow but Triton's meaning does not (dims below -1, a preferred batch size of 0, a
/// <c>pronto.*</c> key Pronto does not know) are checked here, at the text's position when the message was parsed.
/// </summary>
public static class ModelConfigMessage
{
    private static readonly EnumDescriptor InstanceKinds = Proto.ModelInstanceGroup.Descriptor.EnumTypes[0];

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithPreserveProtoFieldNames(true));

    /// <summary>
    /// The message of <paramref name="config"/>. <paramref name="served"/> adds what Triton reports for a loaded model
    /// when the config left it out (backend, version policy, one CPU instance), as /config and gRPC show it.
    /// </summary>
    public static Message ToMessage(ModelConfig config, bool served = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var message = new Message
        {
            Name = config.Name,
            Platform = config.Platform,
            Backend = config.Backend ?? (served ? "onnxruntime" : string.Empty),
            MaxBatchSize = config.MaxBatchSize,
            DefaultModelFilename = config.DefaultModelFilename ?? string.Empty,
        };
        var policy = config.VersionPolicy;
        if (served || policy is not { Kind: VersionPolicyKind.Latest, LatestCount: 1 })
        {
            message.VersionPolicy = policy.Kind switch
            {
                VersionPolicyKind.All => new Proto.ModelVersionPolicy { All = new() },
                VersionPolicyKind.Specific => new Proto.ModelVersionPolicy { Specific = new() { Versions = { policy.Versions } } },
                _ => new Proto.ModelVersionPolicy { Latest = new() { NumVersions = (uint)Math.Max(1, policy.LatestCount) } },
            };
        }

        foreach (var t in config.Inputs)
        {
            message.Input.Add(new Proto.ModelInput
            {
                Name = t.Name,
                DataType = (Proto.DataType)t.DataType,
                Dims = { t.Dims },
                Reshape = t.Reshape is null ? null : new() { Shape = { t.Reshape } },
                Optional = t.Optional,
            });
        }

        foreach (var t in config.Outputs)
        {
            message.Output.Add(new Proto.ModelOutput
            {
                Name = t.Name,
                DataType = (Proto.DataType)t.DataType,
                Dims = { t.Dims },
                Reshape = t.Reshape is null ? null : new() { Shape = { t.Reshape } },
                LabelFilename = t.LabelFilename ?? string.Empty,
            });
        }

        foreach (var g in config.InstanceGroups.Count > 0 || !served ? config.InstanceGroups : [new InstanceGroup(1)])
        {
            message.InstanceGroup.Add(new Proto.ModelInstanceGroup
            {
                Count = g.Count,
                Kind = (Proto.ModelInstanceGroup.Types.Kind)(InstanceKinds.FindValueByName(g.Kind)?.Number ?? (int)Proto.ModelInstanceGroup.Types.Kind.Cpu),
            });
        }

        if (config.DynamicBatching is { } db)
        {
            var q = db.DefaultQueuePolicy;
            message.DynamicBatching = new Proto.ModelDynamicBatching
            {
                PreferredBatchSize = { db.PreferredBatchSize },
                MaxQueueDelayMicroseconds = (ulong)db.MaxQueueDelayMicroseconds,
                PreserveOrdering = db.PreserveOrdering,
                PriorityLevels = (ulong)db.PriorityLevels,
                DefaultPriorityLevel = (ulong)db.DefaultPriorityLevel,
                DefaultQueuePolicy = q.TimeoutAction == TimeoutAction.Reject && q.DefaultTimeoutMicroseconds == 0 && !q.AllowTimeoutOverride && q.MaxQueueSize == 0 && !served
                    ? null
                    : new Proto.ModelQueuePolicy
                    {
                        TimeoutAction = q.TimeoutAction == TimeoutAction.Delay ? Proto.ModelQueuePolicy.Types.TimeoutAction.Delay : Proto.ModelQueuePolicy.Types.TimeoutAction.Reject,
                        DefaultTimeoutMicroseconds = (ulong)q.DefaultTimeoutMicroseconds,
                        AllowTimeoutOverride = q.AllowTimeoutOverride,
                        MaxQueueSize = (uint)q.MaxQueueSize,
                    },
            };
        }

        if (config.ResponseCache)
        {
            message.ResponseCache = new Proto.ModelResponseCache { Enable = true };
        }

        // Sorted so the output does not depend on dictionary insertion order.
        foreach (var (key, value) in config.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            message.Parameters[key] = new Proto.ModelParameter { StringValue = value };
        }

        foreach (var sample in config.ModelWarmup)
        {
            var warmup = new Proto.ModelWarmup { Name = sample.Name, BatchSize = (uint)sample.BatchSize, Count = (uint)sample.Count };
            foreach (var input in sample.Inputs)
            {
                var entry = new Proto.ModelWarmup.Types.Input { DataType = (Proto.DataType)input.DataType, Dims = { input.Dims } };
                switch (input.Data)
                {
                    case WarmupData.Random:
                        entry.RandomData = true;
                        break;
                    case WarmupData.File:
                        entry.InputDataFile = input.InputDataFile ?? string.Empty;
                        break;
                    default:
                        entry.ZeroData = true;
                        break;
                }

                warmup.Inputs[input.Name] = entry;
            }

            message.ModelWarmup.Add(warmup);
        }

        return message;
    }

    /// <summary>Pronto's config from the message; <paramref name="defaultName"/> names the model when the message does not.</summary>
    /// <exception cref="Errors.ProntoException">InvalidArgument for a value Triton's schema types allow but its meaning does not.</exception>
    public static ModelConfig FromMessage(Message message, string defaultName) => FromMessage(message, defaultName, new TextPositions());

    internal static ModelConfig FromMessage(Message m, string defaultName, TextPositions at)
    {
        ArgumentNullException.ThrowIfNull(m);
        var config = new ModelConfig
        {
            Name = m.Name.Length > 0 ? m.Name : defaultName,
            Platform = m.Platform.Length > 0 ? m.Platform : ModelConfig.OnnxPlatform,
            Backend = m.Backend.Length > 0 ? m.Backend : null,
            MaxBatchSize = (int)Check(m.MaxBatchSize, 0, int.MaxValue, at, m, Message.MaxBatchSizeFieldNumber, 0),
            DefaultModelFilename = m.DefaultModelFilename.Length > 0 ? m.DefaultModelFilename : null,
            ResponseCache = m.ResponseCache?.Enable ?? false,
        };
        foreach (var t in m.Input)
        {
            config.Inputs.Add(new TensorConfig
            {
                Name = t.Name,
                DataType = (DataType)t.DataType,
                Dims = Dims(t.Dims, at, t, Proto.ModelInput.DimsFieldNumber),
                Reshape = t.Reshape is { } r ? Dims(r.Shape, at, r, Proto.ModelTensorReshape.ShapeFieldNumber) : null,
                Optional = t.Optional,
            });
        }

        foreach (var t in m.Output)
        {
            config.Outputs.Add(new TensorConfig
            {
                Name = t.Name,
                DataType = (DataType)t.DataType,
                Dims = Dims(t.Dims, at, t, Proto.ModelOutput.DimsFieldNumber),
                Reshape = t.Reshape is { } r ? Dims(r.Shape, at, r, Proto.ModelTensorReshape.ShapeFieldNumber) : null,
                LabelFilename = t.LabelFilename.Length > 0 ? t.LabelFilename : null,
            });
        }

        config.VersionPolicy = m.VersionPolicy switch
        {
            null => VersionPolicy.Latest(1),
            { Latest: { } latest } when latest.NumVersions == 0 => throw TextPositions.ValueError(
                at.Of(m.VersionPolicy, Proto.ModelVersionPolicy.LatestFieldNumber).FirstOrDefault(),
                "version_policy latest needs num_versions of at least 1"),
            { Latest: { } latest } => VersionPolicy.Latest((int)Math.Min(latest.NumVersions, int.MaxValue)),
            { All: not null } => VersionPolicy.All,
            { Specific: { } specific } => VersionPolicy.Specific([.. specific.Versions]),
            _ => VersionPolicy.Latest(1),
        };

        foreach (var g in m.InstanceGroup)
        {
            // Triton makes an absent or zero count one instance, and KIND_AUTO (also the absent kind) the CPU on a host without GPUs.
            var count = Check(g.Count, 0, int.MaxValue, at, g, Proto.ModelInstanceGroup.CountFieldNumber, 0);
            var kind = g.Kind == Proto.ModelInstanceGroup.Types.Kind.Auto ? Proto.ModelInstanceGroup.Types.Kind.Cpu : g.Kind;
            config.InstanceGroups.Add(new InstanceGroup(count < 1 ? 1 : (int)count, InstanceKinds.FindValueByNumber((int)kind).Name));
        }

        if (m.DynamicBatching is { } db)
        {
            var batching = new DynamicBatchingConfig
            {
                MaxQueueDelayMicroseconds = (long)Check(db.MaxQueueDelayMicroseconds, 0, long.MaxValue, at, db, Proto.ModelDynamicBatching.MaxQueueDelayMicrosecondsFieldNumber, 0),
                PreserveOrdering = db.PreserveOrdering,
                PriorityLevels = (int)Check(db.PriorityLevels, 0, int.MaxValue, at, db, Proto.ModelDynamicBatching.PriorityLevelsFieldNumber, 0),
                DefaultPriorityLevel = (int)Check(db.DefaultPriorityLevel, 0, int.MaxValue, at, db, Proto.ModelDynamicBatching.DefaultPriorityLevelFieldNumber, 0),
            };
            for (var i = 0; i < db.PreferredBatchSize.Count; i++)
            {
                batching.PreferredBatchSize.Add((int)Check(db.PreferredBatchSize[i], 1, int.MaxValue, at, db, Proto.ModelDynamicBatching.PreferredBatchSizeFieldNumber, i));
            }

            if (db.DefaultQueuePolicy is { } q)
            {
                batching.DefaultQueuePolicy = new QueuePolicy
                {
                    TimeoutAction = q.TimeoutAction == Proto.ModelQueuePolicy.Types.TimeoutAction.Delay ? TimeoutAction.Delay : TimeoutAction.Reject,
                    DefaultTimeoutMicroseconds = (long)Check(q.DefaultTimeoutMicroseconds, 0, long.MaxValue, at, q, Proto.ModelQueuePolicy.DefaultTimeoutMicrosecondsFieldNumber, 0),
                    AllowTimeoutOverride = q.AllowTimeoutOverride,
                    MaxQueueSize = (int)Check(q.MaxQueueSize, 0, int.MaxValue, at, q, Proto.ModelQueuePolicy.MaxQueueSizeFieldNumber, 0),
                };
            }

            config.DynamicBatching = batching;
        }

        foreach (var (key, value) in m.Parameters)
        {
            // Keys under pronto. are Pronto's own, so an unknown one is a typo; other keys belong to backends and stay free.
            if (key.StartsWith(ProntoParameters.Prefix, StringComparison.Ordinal) && !ProntoParameters.IsKnown(key))
            {
                var hint = TextFormat.Closest(key, ProntoParameters.Known) is { } near ? $" (did you mean '{near}'?)" : string.Empty;
                throw TextPositions.ValueError(
                    TextPositions.Part(at.MapEntry(m, Message.ParametersFieldNumber, key), "key"),
                    $"unknown Pronto parameter '{key}'{hint}; Pronto's parameters are {string.Join(", ", ProntoParameters.Known)}");
            }

            config.Parameters[key] = value.StringValue;
        }

        foreach (var w in m.ModelWarmup)
        {
            var sample = new ModelWarmup
            {
                Name = w.Name,
                BatchSize = (int)Check(w.BatchSize, 0, int.MaxValue, at, w, Proto.ModelWarmup.BatchSizeFieldNumber, 0),
                Count = (int)Check(w.Count, 0, int.MaxValue, at, w, Proto.ModelWarmup.CountFieldNumber, 0),
            };
            foreach (var (name, input) in w.Inputs)
            {
                var data = input.InputDataTypeCase switch
                {
                    Proto.ModelWarmup.Types.Input.InputDataTypeOneofCase.RandomData => WarmupData.Random,
                    Proto.ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile => WarmupData.File,
                    Proto.ModelWarmup.Types.Input.InputDataTypeOneofCase.ZeroData => WarmupData.Zero,
                    _ => throw TextPositions.ValueError(
                        at.MapEntry(w, Proto.ModelWarmup.InputsFieldNumber, name) is { } entry ? TextPositions.Part(entry, "value") ?? entry : null,
                        $"model_warmup input '{name}' needs one of zero_data, random_data or input_data_file"),
                };
                sample.Inputs.Add(new WarmupInput
                {
                    Name = name,
                    DataType = (DataType)input.DataType,
                    Dims = Dims(input.Dims, at, input, Proto.ModelWarmup.Types.Input.DimsFieldNumber),
                    Data = data,
                    InputDataFile = data == WarmupData.File ? input.InputDataFile : null,
                });
            }

            config.ModelWarmup.Add(sample);
        }

        return config;
    }

    /// <summary>The config as Triton's REST API returns it: the message in protobuf's JSON form with the schema's field names, every scalar field present, 64-bit integers as numbers.</summary>
    public static JsonNode ToJson(ModelConfig config)
    {
        var message = ToMessage(config, served: true);
        var node = JsonNode.Parse(Json.Format(message))!;
        Int64AsNumbers(node, Message.Descriptor);
        return node;
    }

    /// <summary>Protobuf's JSON writes int64 / uint64 as strings; Triton's /config writes numbers, which its clients read.</summary>
    private static void Int64AsNumbers(JsonNode? node, MessageDescriptor descriptor)
    {
        if (node is not JsonObject json)
        {
            return;
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (json[field.Name] is not { } value)
            {
                continue;
            }

            var target = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
            var items = field.IsMap ? value.AsObject().Select(p => p.Value).ToList()
                : field.IsRepeated ? [.. value.AsArray()]
                : [value];
            if (target.FieldType == FieldType.Message)
            {
                foreach (var item in items)
                {
                    Int64AsNumbers(item, target.MessageType);
                }
            }
            else if (target.FieldType is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64)
            {
                foreach (var item in items)
                {
                    if (item is JsonValue v && v.TryGetValue<string>(out var text))
                    {
                        v.ReplaceWith(JsonNode.Parse(text));
                    }
                }
            }
        }
    }

    private static long[] Dims(IReadOnlyList<long> dims, TextPositions at, IMessage message, int fieldNumber)
    {
        for (var i = 0; i < dims.Count; i++)
        {
            // Triton allows -1 for a variable dimension and nothing smaller.
            Check(dims[i], -1, long.MaxValue, at, message, fieldNumber, i);
        }

        return [.. dims];
    }

    private static Int128 Check(Int128 value, Int128 min, Int128 max, TextPositions at, IMessage message, int fieldNumber, int index)
    {
        if (value >= min && value <= max)
        {
            return value;
        }

        var occurrences = at.Of(message, fieldNumber);
        var field = index < occurrences.Count ? occurrences[index] : null;
        var name = message.Descriptor.FindFieldByNumber(fieldNumber).Name;
        throw TextPositions.ValueError(field, $"'{name}' must be {TextFormat.Range(min, max)}, found {field?.Scalar ?? value.ToString()}");
    }
}
