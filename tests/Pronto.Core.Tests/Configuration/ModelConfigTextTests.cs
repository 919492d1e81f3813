using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;
using Xunit;

namespace Pronto.Core.Tests.Configuration;

public sealed class ModelConfigTextTests
{
    private const string FullTritonConfig = """
        # A Triton config with every field Pronto reads (model_warmup too), plus blocks it must skip.
        name: "resnet50"
        platform: "onnxruntime_onnx"
        backend: "onnxruntime"
        max_batch_size: 8
        default_model_filename: "resnet.onnx"
        version_policy: { specific: { versions: [1, 3] } }
        input [
          {
            name: "data"
            data_type: TYPE_FP32
            format: FORMAT_NCHW
            dims: [ 3, 224, 224 ]
            reshape: { shape: [ 1, 3, 224, 224 ] }
            optional: false
          },
          {
            name: "mask"
            data_type: TYPE_BOOL
            dims: [ -1 ]
            optional: true
            allow_ragged_batch: true
          }
        ]
        output [
          {
            name: "probs"
            data_type: TYPE_FP16
            dims: [ 1000 ]
            label_filename: "labels.txt"
          },
          {
            name: "text"
            data_type: TYPE_STRING
            dims: [ -1, 2 ]
          }
        ]
        instance_group [
          {
            name: "cpu_group"
            count: 2
            kind: KIND_CPU
          },
          {
            kind: KIND_GPU
            gpus: [ 0, 1 ]
          }
        ]
        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 100
          preserve_ordering: true
          priority_levels: 3
          default_priority_level: 2
          default_queue_policy {
            timeout_action: DELAY
            default_timeout_microseconds: 5000
            allow_timeout_override: true
            max_queue_size: 64
          }
          priority_queue_policy {
            key: 1
            value: { timeout_action: REJECT max_queue_size: 4 }
          }
        }
        optimization { execution_accelerators {
          cpu_execution_accelerator : [ { name : "openvino" } ]
          gpu_execution_accelerator : [ {
            name : "tensorrt"
            parameters { key: "precision_mode" value: "FP16" }
          } ]
        }}
        model_warmup [
          {
            name: "warmup"
            batch_size: 1
            inputs {
              key: "data"
              value: { data_type: TYPE_FP32 dims: [ 3, 224, 224 ] zero_data: true }
            }
          }
        ]
        model_operations < op_library_filename: "libcustom_ops.so" >
        model_transaction_policy { decoupled: False }
        parameters { key: "intra_op_thread_count" value: { string_value: "4" } }
        parameters: {
          key: "mode"
          value: { string_value: "fast" }
        }
        """;

    [Fact]
    public void Parse_FullTritonConfig_ReadsEveryFieldAndSkipsTheBlocksProntoDoesNotImplement()
    {
        var c = ModelConfigText.Parse(FullTritonConfig, "ignored");

        Assert.Equal("resnet50", c.Name);
        Assert.Equal("onnxruntime_onnx", c.Platform);
        Assert.Equal("onnxruntime", c.Backend);
        Assert.Equal(8, c.MaxBatchSize);
        Assert.Equal("resnet.onnx", c.DefaultModelFilename);
        Assert.Equal(VersionPolicyKind.Specific, c.VersionPolicy.Kind);
        Assert.Equal([1L, 3L], c.VersionPolicy.Versions);

        Assert.Equal(2, c.Inputs.Count);
        Assert.Equal("data", c.Inputs[0].Name);
        Assert.Equal(DataType.FP32, c.Inputs[0].DataType);
        Assert.Equal([3L, 224L, 224L], c.Inputs[0].Dims);
        Assert.Equal([1L, 3L, 224L, 224L], c.Inputs[0].Reshape!);
        Assert.False(c.Inputs[0].Optional);
        Assert.Null(c.Inputs[0].LabelFilename);
        Assert.Equal("mask", c.Inputs[1].Name);
        Assert.Equal(DataType.Bool, c.Inputs[1].DataType);
        Assert.Equal([-1L], c.Inputs[1].Dims);
        Assert.Null(c.Inputs[1].Reshape);
        Assert.True(c.Inputs[1].Optional);

        Assert.Equal(2, c.Outputs.Count);
        Assert.Equal("probs", c.Outputs[0].Name);
        Assert.Equal(DataType.FP16, c.Outputs[0].DataType);
        Assert.Equal([1000L], c.Outputs[0].Dims);
        Assert.Equal("labels.txt", c.Outputs[0].LabelFilename);
        Assert.Equal("text", c.Outputs[1].Name);
        Assert.Equal(DataType.Bytes, c.Outputs[1].DataType);
        Assert.Equal([-1L, 2L], c.Outputs[1].Dims);

        Assert.Equal([new InstanceGroup(2, "KIND_CPU"), new InstanceGroup(1, "KIND_GPU")], c.InstanceGroups);
        Assert.Equal(3, c.InstanceCount);

        var db = Assert.IsType<DynamicBatchingConfig>(c.DynamicBatching);
        Assert.Equal([4, 8], db.PreferredBatchSize);
        Assert.Equal(100L, db.MaxQueueDelayMicroseconds);
        Assert.True(db.PreserveOrdering);
        Assert.Equal(3, db.PriorityLevels);
        Assert.Equal(2, db.DefaultPriorityLevel);
        Assert.Equal(TimeoutAction.Delay, db.DefaultQueuePolicy.TimeoutAction);
        Assert.Equal(5000L, db.DefaultQueuePolicy.DefaultTimeoutMicroseconds);
        Assert.True(db.DefaultQueuePolicy.AllowTimeoutOverride);
        Assert.Equal(64, db.DefaultQueuePolicy.MaxQueueSize);

        Assert.Equal(2, c.Parameters.Count);
        Assert.Equal("4", c.Parameters["intra_op_thread_count"]);
        Assert.Equal("fast", c.Parameters["mode"]);

        var warmup = Assert.Single(c.ModelWarmup);
        Assert.Equal(("warmup", 1, 0), (warmup.Name, warmup.BatchSize, warmup.Count));
        var data = Assert.Single(warmup.Inputs);
        Assert.Equal(("data", DataType.FP32, WarmupData.Zero), (data.Name, data.DataType, data.Data));
        Assert.Equal([3L, 224L, 224L], data.Dims);
    }

    [Fact]
    public void Parse_ModelWarmup_ReadsTritonsSchema()
    {
        const string text = """
            model_warmup [
              {
                name: "first"
                batch_size: 4
                inputs { key: "ids" value: { data_type: TYPE_INT64 dims: [ 2, 8 ] random_data: true } }
                inputs: [
                  { key: "img" value { data_type: TYPE_FP16 dims: 3 dims: 4 input_data_file: "img.raw" } },
                  { key: "ids" value { data_type: TYPE_INT32 dims: [ 1 ] zero_data: false } }
                ]
                count: 3
              }
            ]
            model_warmup { name: "second" }
            """;

        var c = ModelConfigText.Parse(text, "m");

        Assert.Equal(2, c.ModelWarmup.Count);
        var first = c.ModelWarmup[0];
        Assert.Equal(("first", 4, 3), (first.Name, first.BatchSize, first.Count));

        // Map semantics: the later "ids" replaces the earlier one in its place; zero_data counts as set whatever its value, as in Triton.
        Assert.Equal(["ids", "img"], first.Inputs.Select(i => i.Name));
        Assert.Equal((DataType.FP16, WarmupData.File, "img.raw"), (first.Inputs[1].DataType, first.Inputs[1].Data, first.Inputs[1].InputDataFile));
        Assert.Equal([3L, 4L], first.Inputs[1].Dims);
        Assert.Equal((DataType.Int32, WarmupData.Zero), (first.Inputs[0].DataType, first.Inputs[0].Data));
        Assert.Equal([1L], first.Inputs[0].Dims);
        Assert.Equal(("second", 0, 0), (c.ModelWarmup[1].Name, c.ModelWarmup[1].BatchSize, c.ModelWarmup[1].Count));
        Assert.Empty(c.ModelWarmup[1].Inputs);
    }

    [Fact]
    public void RoundTrip_ModelWarmup_IsCanonicalTritonText()
    {
        var config = new ModelConfig { Name = "m" };
        config.ModelWarmup.Add(new ModelWarmup
        {
            Name = "sample \"1\"",
            BatchSize = 2,
            Count = 5,
            Inputs =
            {
                new WarmupInput { Name = "a", DataType = DataType.FP32, Dims = [3], Data = WarmupData.Zero },
                new WarmupInput { Name = "b", DataType = DataType.Bytes, Dims = [1, 2], Data = WarmupData.File, InputDataFile = "b.bin" },
                new WarmupInput { Name = "c", DataType = DataType.Bool, Dims = [], Data = WarmupData.Random },
            },
        });
        config.ModelWarmup.Add(new ModelWarmup { Name = "empty" });

        var text = ModelConfigText.Format(config);

        const string expected = """
            name: "m"
            platform: "onnxruntime_onnx"
            model_warmup [
              {
                name: "sample \"1\""
                batch_size: 2
                inputs {
                  key: "a"
                  value {
                    data_type: TYPE_FP32
                    dims: [ 3 ]
                    zero_data: true
                  }
                }
                inputs {
                  key: "b"
                  value {
                    data_type: TYPE_STRING
                    dims: [ 1, 2 ]
                    input_data_file: "b.bin"
                  }
                }
                inputs {
                  key: "c"
                  value {
                    data_type: TYPE_BOOL
                    random_data: true
                  }
                }
                count: 5
              },
              {
                name: "empty"
              }
            ]

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), text);
        var copy = ModelConfigText.Parse(text, "m");
        Assert.Equal(text, ModelConfigText.Format(copy));
        Assert.Equal(["a", "b", "c"], copy.ModelWarmup[0].Inputs.Select(i => i.Name));
        Assert.Equal("b.bin", copy.ModelWarmup[0].Inputs[1].InputDataFile);
    }

    [Fact]
    public void Parse_RepeatedBlocksAndRepeatedScalars_Accumulate()
    {
        const string text = """
            input { name: "a" data_type: TYPE_INT64 dims: 2 dims: 3 }
            input: { name: "b"; data_type: TYPE_UINT8; dims: [ 4 ]; }
            output < name: "c", data_type: TYPE_INT32, dims: -1 >
            instance_group { count: 3 kind: KIND_CPU }
            instance_group { kind: KIND_CPU }
            """;

        var c = ModelConfigText.Parse(text, "m");

        Assert.Equal(2, c.Inputs.Count);
        Assert.Equal("a", c.Inputs[0].Name);
        Assert.Equal(DataType.Int64, c.Inputs[0].DataType);
        Assert.Equal([2L, 3L], c.Inputs[0].Dims);
        Assert.Equal("b", c.Inputs[1].Name);
        Assert.Equal(DataType.UInt8, c.Inputs[1].DataType);
        Assert.Equal([4L], c.Inputs[1].Dims);
        var output = Assert.Single(c.Outputs);
        Assert.Equal("c", output.Name);
        Assert.Equal(DataType.Int32, output.DataType);
        Assert.Equal([-1L], output.Dims);
        Assert.Equal([new InstanceGroup(3, "KIND_CPU"), new InstanceGroup(1, "KIND_CPU")], c.InstanceGroups);
    }

    [Fact]
    public void Parse_NameAbsent_UsesDefaultNameAndDefaults()
    {
        var c = ModelConfigText.Parse("# only a comment\nmax_batch_size: 0\n", "folder_name");

        Assert.Equal("folder_name", c.Name);
        Assert.Equal(ModelConfig.OnnxPlatform, c.Platform);
        Assert.Null(c.Backend);
        Assert.Equal(0, c.MaxBatchSize);
        Assert.Empty(c.Inputs);
        Assert.Empty(c.Outputs);
        Assert.Empty(c.InstanceGroups);
        Assert.Null(c.DynamicBatching);
        Assert.Null(c.DefaultModelFilename);
        Assert.Empty(c.Parameters);
        Assert.Equal(VersionPolicy.Latest(1), c.VersionPolicy);
    }

    [Fact]
    public void Parse_EmptyText_IsAllDefaults()
    {
        var c = ModelConfigText.Parse(string.Empty, "empty");

        Assert.Equal("empty", c.Name);
        Assert.Equal(0, c.MaxBatchSize);
    }

    [Fact]
    public void Parse_Comments_AreIgnoredEverywhere()
    {
        const string text = """
            # leading comment
            name: "m" # trailing comment
            input [ # after bracket
              { # after brace
                name: "x#not a comment" # the hash in the string is text
                data_type: TYPE_FP64
                dims: [ 1, # inside a list
                        2 ]
              }
            ]
            #name: "other"
            """;

        var c = ModelConfigText.Parse(text, "d");

        Assert.Equal("m", c.Name);
        var input = Assert.Single(c.Inputs);
        Assert.Equal("x#not a comment", input.Name);
        Assert.Equal(DataType.FP64, input.DataType);
        Assert.Equal([1L, 2L], input.Dims);
    }

    [Fact]
    public void Parse_QuotedStrings_HandleBothQuotesAndEscapes()
    {
        const string text = """
            name: 'single \'quoted\' "mixed"'
            default_model_filename: "a\\b\"c\nd\te\101\x42 \u00e9"
            platform: "split " 'across ' "literals"
            parameters { key: "multi\\byte" value: { string_value: "\303\251t\303\251" } }
            """;

        var c = ModelConfigText.Parse(text, "d");

        Assert.Equal("single 'quoted' \"mixed\"", c.Name);
        Assert.Equal("a\\b\"c\nd\teAB é", c.DefaultModelFilename);
        Assert.Equal("split across literals", c.Platform);
        Assert.Equal("été", c.Parameters["multi\\byte"]);
    }

    [Fact]
    public void Parse_VersionPolicyLatest()
    {
        var c = ModelConfigText.Parse("version_policy: { latest: { num_versions: 2 } }", "m");

        Assert.Equal(VersionPolicyKind.Latest, c.VersionPolicy.Kind);
        Assert.Equal(2, c.VersionPolicy.LatestCount);
        Assert.Empty(c.VersionPolicy.Versions);
    }

    [Fact]
    public void Parse_VersionPolicyAll()
    {
        var c = ModelConfigText.Parse("version_policy { all { } }", "m");

        Assert.Same(VersionPolicy.All, c.VersionPolicy);
    }

    [Fact]
    public void Parse_VersionPolicySpecific_AcceptsListAndRepeatedForms()
    {
        var list = ModelConfigText.Parse("version_policy: { specific: { versions: [ 1, 3 ] } }", "m");
        var repeated = ModelConfigText.Parse("version_policy { specific { versions: 1 versions: 3 } }", "m");

        Assert.Equal(VersionPolicyKind.Specific, list.VersionPolicy.Kind);
        Assert.Equal([1L, 3L], list.VersionPolicy.Versions);
        Assert.Equal(VersionPolicyKind.Specific, repeated.VersionPolicy.Kind);
        Assert.Equal([1L, 3L], repeated.VersionPolicy.Versions);
    }

    [Fact]
    public void Parse_InstanceGroupCount_DefaultsToOne()
    {
        var c = ModelConfigText.Parse("instance_group [ { kind: KIND_CPU }, { count: 0 }, { count: 4 kind: KIND_GPU } ]", "m");

        Assert.Equal([new InstanceGroup(1, "KIND_CPU"), new InstanceGroup(1), new InstanceGroup(4, "KIND_GPU")], c.InstanceGroups);
        Assert.Equal(6, c.InstanceCount);
    }

    [Fact]
    public void Parse_IntegerForms_FollowProtobuf()
    {
        var c = ModelConfigText.Parse("max_batch_size: 0x10\ninput { name: \"x\" dims: [ 010, -1 ] }", "m");

        Assert.Equal(16, c.MaxBatchSize);
        Assert.Equal([8L, -1L], c.Inputs[0].Dims);
    }

    [Fact]
    public void Parse_EmptyReshape_IsAnEmptyShapeNotNull()
    {
        var c = ModelConfigText.Parse("input { name: \"s\" data_type: TYPE_INT8 dims: [ 1 ] reshape: { shape: [ ] } }", "m");

        Assert.Equal([1L], c.Inputs[0].Dims);
        Assert.NotNull(c.Inputs[0].Reshape);
        Assert.Empty(c.Inputs[0].Reshape!);
    }

    [Fact]
    public void Format_WritesCanonicalTritonStyle()
    {
        var config = new ModelConfig
        {
            Name = "m",
            MaxBatchSize = 4,
            Inputs = { new TensorConfig { Name = "x", DataType = DataType.FP32, Dims = [-1, 3] } },
            Outputs =
            {
                new TensorConfig { Name = "y", DataType = DataType.Bytes, Dims = [1], LabelFilename = "l.txt" },
                // Triton's ModelOutput has no 'optional': the text leaves it out.
                new TensorConfig { Name = "z", DataType = DataType.Int64, Dims = [2], Reshape = [1, 2], Optional = true },
            },
            InstanceGroups = { new InstanceGroup(2) },
        };

        var text = ModelConfigText.Format(config);

        const string expected = """
            name: "m"
            platform: "onnxruntime_onnx"
            max_batch_size: 4
            input [
              {
                name: "x"
                data_type: TYPE_FP32
                dims: [ -1, 3 ]
              }
            ]
            output [
              {
                name: "y"
                data_type: TYPE_STRING
                dims: [ 1 ]
                label_filename: "l.txt"
              },
              {
                name: "z"
                data_type: TYPE_INT64
                dims: [ 2 ]
                reshape {
                  shape: [ 1, 2 ]
                }
              }
            ]
            instance_group [
              {
                kind: KIND_CPU
                count: 2
              }
            ]

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), text);
    }

    [Fact]
    public void Format_OmitsUnsetParts()
    {
        var text = ModelConfigText.Format(new ModelConfig { Name = "bare" });

        // proto3 leaves out fields at their defaults (max_batch_size 0 among them), as Triton's own printer does.
        Assert.Equal("name: \"bare\"\nplatform: \"onnxruntime_onnx\"\n", text);
    }

    [Fact]
    public void Format_EscapesStrings()
    {
        var text = ModelConfigText.Format(new ModelConfig { Name = "a\"b\\c\nd\u0001" });

        Assert.StartsWith("name: \"a\\\"b\\\\c\\nd\\001\"\n", text, StringComparison.Ordinal);
        Assert.Equal("a\"b\\c\nd\u0001", ModelConfigText.Parse(text, "x").Name);
    }

    [Fact]
    public void RoundTrip_RichConfig_PreservesEveryField()
    {
        var original = new ModelConfig
        {
            Name = "rich \"model\"\t\\ é",
            Platform = "onnxruntime_onnx",
            Backend = "onnxruntime",
            MaxBatchSize = 16,
            DefaultModelFilename = "weights/model.onnx",
            VersionPolicy = VersionPolicy.Specific(1, 3, 7),
            Inputs =
            {
                new TensorConfig { Name = "ids", DataType = DataType.Int64, Dims = [-1], Optional = false },
                new TensorConfig { Name = "img", DataType = DataType.BF16, Dims = [3, -1, -1], Reshape = [1, 3, -1, -1], Optional = true },
                new TensorConfig { Name = "scalar", DataType = DataType.UInt16, Dims = [], Reshape = [] },
            },
            Outputs =
            {
                new TensorConfig { Name = "labels", DataType = DataType.Bytes, Dims = [1], LabelFilename = "labels\n.txt" },
            },
            InstanceGroups = { new InstanceGroup(2, "KIND_CPU"), new InstanceGroup(1, "KIND_GPU") },
            DynamicBatching = new DynamicBatchingConfig
            {
                PreferredBatchSize = { 4, 8, 16 },
                MaxQueueDelayMicroseconds = 250,
                PreserveOrdering = true,
                PriorityLevels = 2,
                DefaultPriorityLevel = 1,
                DefaultQueuePolicy = new QueuePolicy
                {
                    TimeoutAction = TimeoutAction.Delay,
                    DefaultTimeoutMicroseconds = 1_000_000,
                    AllowTimeoutOverride = true,
                    MaxQueueSize = 128,
                },
            },
            Parameters = { ["pronto.text.max_tokens"] = "4", ["intra_op_thread_count"] = "2", ["quote\"key"] = "line\nvalue", ["empty"] = string.Empty },
        };

        var copy = ModelConfigText.Parse(ModelConfigText.Format(original), "other");

        Assert.Equal(original.Name, copy.Name);
        Assert.Equal(original.Platform, copy.Platform);
        Assert.Equal(original.Backend, copy.Backend);
        Assert.Equal(original.MaxBatchSize, copy.MaxBatchSize);
        Assert.Equal(original.DefaultModelFilename, copy.DefaultModelFilename);
        Assert.Equal(original.VersionPolicy.Kind, copy.VersionPolicy.Kind);
        Assert.Equal(original.VersionPolicy.LatestCount, copy.VersionPolicy.LatestCount);
        Assert.Equal(original.VersionPolicy.Versions, copy.VersionPolicy.Versions);
        AssertTensorsEqual(original.Inputs, copy.Inputs);
        AssertTensorsEqual(original.Outputs, copy.Outputs);
        Assert.Equal(original.InstanceGroups, copy.InstanceGroups);
        var a = original.DynamicBatching;
        var b = Assert.IsType<DynamicBatchingConfig>(copy.DynamicBatching);
        Assert.Equal(a.PreferredBatchSize, b.PreferredBatchSize);
        Assert.Equal(a.MaxQueueDelayMicroseconds, b.MaxQueueDelayMicroseconds);
        Assert.Equal(a.PreserveOrdering, b.PreserveOrdering);
        Assert.Equal(a.PriorityLevels, b.PriorityLevels);
        Assert.Equal(a.DefaultPriorityLevel, b.DefaultPriorityLevel);
        Assert.Equal(a.DefaultQueuePolicy.TimeoutAction, b.DefaultQueuePolicy.TimeoutAction);
        Assert.Equal(a.DefaultQueuePolicy.DefaultTimeoutMicroseconds, b.DefaultQueuePolicy.DefaultTimeoutMicroseconds);
        Assert.Equal(a.DefaultQueuePolicy.AllowTimeoutOverride, b.DefaultQueuePolicy.AllowTimeoutOverride);
        Assert.Equal(a.DefaultQueuePolicy.MaxQueueSize, b.DefaultQueuePolicy.MaxQueueSize);
        Assert.Equal(original.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal), copy.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal));

        // Canonical: formatting the parsed copy gives the same text again.
        Assert.Equal(ModelConfigText.Format(original), ModelConfigText.Format(copy));
    }

    [Theory]
    [InlineData(VersionPolicyKind.Latest, 3)]
    [InlineData(VersionPolicyKind.Latest, 1)]
    [InlineData(VersionPolicyKind.All, 0)]
    [InlineData(VersionPolicyKind.Specific, 0)]
    public void RoundTrip_VersionPolicies(VersionPolicyKind kind, int count)
    {
        var policy = kind switch
        {
            VersionPolicyKind.Latest => VersionPolicy.Latest(count),
            VersionPolicyKind.All => VersionPolicy.All,
            _ => VersionPolicy.Specific(2, 5),
        };

        var text = ModelConfigText.Format(new ModelConfig { Name = "m", VersionPolicy = policy });
        var copy = ModelConfigText.Parse(text, "m").VersionPolicy;

        Assert.Equal(policy.Kind, copy.Kind);
        Assert.Equal(policy.LatestCount, copy.LatestCount);
        Assert.Equal(policy.Versions, copy.Versions);
        Assert.Equal(count == 1, !text.Contains("version_policy", StringComparison.Ordinal));
    }

    [Fact]
    public void RoundTrip_EmptyDynamicBatching_StaysPresent()
    {
        var text = ModelConfigText.Format(new ModelConfig { Name = "m", DynamicBatching = new DynamicBatchingConfig() });
        var copy = ModelConfigText.Parse(text, "m");

        Assert.Contains("dynamic_batching {\n}\n", text, StringComparison.Ordinal);
        var db = Assert.IsType<DynamicBatchingConfig>(copy.DynamicBatching);
        Assert.Empty(db.PreferredBatchSize);
        Assert.Equal(TimeoutAction.Reject, db.DefaultQueuePolicy.TimeoutAction);
    }

    [Fact]
    public void Error_UnterminatedString_ReportsItsLine()
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("name: \"m\"\nplatform: \"onnx\n", "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Equal("config.pbtxt line 2, column 11: unterminated string", ex.Message);
    }

    [Fact]
    public void Error_MissingClosingBrace_ReportsWhereInputEnded()
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("input {\n  name: \"x\"\n  dims: [ 1 ]\n", "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains("line 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected '}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("opened at line 1, column 7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_BadDataType_NamesFieldAndValue()
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("input [\n  {\n    name: \"x\"\n    data_type: TYPE_FOO\n  }\n]", "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.StartsWith("config.pbtxt line 4, column 16: unknown data_type 'TYPE_FOO' (expected one of TYPE_INVALID, TYPE_BOOL, TYPE_UINT8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_MissingColonOrBrace_SaysWhatWasExpected()
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("name: \"m\"\ninput {\n  dims 3\n}", "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Equal("config.pbtxt line 3, column 8: expected ':' or '{' after 'dims', found '3'", ex.Message);
    }

    [Theory]
    [InlineData("max_batch_size: -1", "line 1, column 17", "'max_batch_size' must be between 0 and 2147483647")]
    [InlineData("max_batch_size: 99999999999", "line 1, column 17", "'max_batch_size' must be between -2147483648 and 2147483647, found 99999999999")]
    [InlineData("max_batch_size: \"8\"", "line 1, column 17", "expected an integer for 'max_batch_size'")]
    [InlineData("max_batch_size: 1.5", "line 1, column 17", "expected an integer")]
    [InlineData("name: m", "line 1, column 7", "expected a quoted string for 'name'")]
    [InlineData("name: \"a\"\nname: \"b\"", "line 2, column 1", "'name' is given more than once")]
    [InlineData("name: [ \"a\" ]", "line 1, column 1", "'name' is not a repeated field")]
    [InlineData("input { dims: [ -2 ] }", "line 1, column 17", "'dims' must be at least -1")]
    [InlineData("input { dims: [ 1 2 ] }", "line 1, column 19", "expected ',' or ']'")]
    [InlineData("input { optional: maybe }", "line 1, column 19", "expected true or false for 'optional'")]
    [InlineData("input: 3", "line 1, column 8", "expected '{' to start the 'input' message")]
    [InlineData("instance_group { count: -1 }", "line 1, column 25", "'count' must be between 0")]
    [InlineData("instance_group { kind: KIND_TPU }", "line 1, column 24", "unknown kind 'KIND_TPU' (expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL)")]
    [InlineData("dynamic_batching { default_queue_policy { timeout_action: WAIT } }", "line 1, column 59", "unknown timeout_action 'WAIT'")]
    [InlineData("dynamic_batching { preferred_batch_size: [ 0 ] }", "line 1, column 44", "'preferred_batch_size' must be between 1")]
    [InlineData("version_policy { latest { } }", "line 1, column 25", "num_versions of at least 1")]
    [InlineData("version_policy { all { } latest { num_versions: 1 } }", "line 1, column 26", "only one of")]
    [InlineData("name: \"m\" }", "line 1, column 11", "expected a field name, found '}'")]
    [InlineData("name: \"bad \\q escape\"", "line 1, column 12", "unknown escape '\\q'")]
    [InlineData("name: @", "line 1, column 7", "unexpected character '@'")]
    [InlineData("name:", "line 1, column 6", "expected a value for 'name', found end of input")]
    [InlineData("model_warmup { batch_size: -1 }", "line 1, column 28", "'batch_size' must be between 0 and 4294967295")]
    [InlineData("model_warmup { inputs { key: \"x\" value { dims: [ 1 ] } } }", "line 1, column 40", "model_warmup input 'x' needs one of zero_data, random_data or input_data_file")]
    [InlineData("model_warmup { inputs { key: \"x\" } }", "line 1, column 23", "model_warmup input 'x' needs one of zero_data, random_data or input_data_file")]
    [InlineData("model_warmup { inputs { key: \"x\" value { zero_data: true random_data: true } } }", "line 1, column 58", "ModelWarmup.Input takes only one of 'zero_data', 'random_data' or 'input_data_file' ('zero_data' is set already)")]
    [InlineData("model_warmup { inputs { key: \"x\" value { zero_data: yes } } }", "line 1, column 53", "expected true or false for 'zero_data'")]
    [InlineData("model_warmup { inputs { key: \"x\" value { data_type: TYPE_FP99 zero_data: true } } }", "line 1, column 53", "unknown data_type 'TYPE_FP99' (expected one of TYPE_INVALID, TYPE_BOOL, ")]
    public void Error_InvalidInput_IsInvalidArgumentWithPosition(string text, string position, string fragment)
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse(text, "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(position, ex.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_DeepNesting_IsRejectedNotAStackOverflow()
    {
        var text = "optimization { " + string.Concat(Enumerable.Repeat("a { ", 10_000));

        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse(text, "m"));

        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains("nested deeper", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("response_cache { enable: true }", true)]
    [InlineData("response_cache { enable: false }", false)]
    [InlineData("response_cache { }", false)]
    [InlineData("", false)]
    public void ResponseCache_ParsesEnableAndRoundTrips(string text, bool enabled)
    {
        var config = ModelConfigText.Parse(text, "m");
        Assert.Equal(enabled, config.ResponseCache);

        var formatted = ModelConfigText.Format(config);
        Assert.Equal(enabled, formatted.Contains("response_cache {\n  enable: true\n}\n", StringComparison.Ordinal));
        Assert.Equal(enabled, ModelConfigText.Parse(formatted, "m").ResponseCache);
    }

    [Fact]
    public void ResponseCache_GivenTwice_IsRejected()
    {
        var ex = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("response_cache { enable: true }\nresponse_cache { enable: true }", "m"));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
    }

    private static void AssertTensorsEqual(List<TensorConfig> expected, List<TensorConfig> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Name, actual[i].Name);
            Assert.Equal(expected[i].DataType, actual[i].DataType);
            Assert.Equal(expected[i].Dims, actual[i].Dims);
            Assert.Equal(expected[i].LabelFilename, actual[i].LabelFilename);
            Assert.Equal(expected[i].Reshape, actual[i].Reshape);
            Assert.Equal(expected[i].Optional, actual[i].Optional);
        }
    }
}
