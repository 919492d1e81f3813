using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// SIGTERM to a real <c>pronto serve</c> child process with a request in flight: the process drains (not ready, 503 for
/// new requests), the held request completes with 200, and it exits 0. Driven by the child's own lines and the
/// protocol's 100 Continue, never by time. (With System.CommandLine's default 2 s termination timeout, which this
/// once had, holding the body 3 s made the child exit 143 under the request; that needs a clock, so it is not here.)
/// </summary>
public sealed class ServeSignalTests : IDisposable
{
    private const string DrainLine = "Shutting down: not ready, new requests get 503; waiting for 1 in-flight requests";

    private readonly string _root = Directory.CreateTempSubdirectory("pronto-serve-signal-").FullName;

    [Fact]
    public async Task Sigterm_lets_the_in_flight_request_finish_and_exits_0()
    {
        TinyModels.WriteAddConstant(_root, "add", 1f, 2);
        using var child = ServeChild.Start(_root);
        var rest = await child.WaitForAsync(line => line.StartsWith("pronto serving ", StringComparison.Ordinal));
        Assert.NotNull(rest);
        var uri = new Uri(rest[(rest.IndexOf("REST ", StringComparison.Ordinal) + 5)..rest.IndexOf(" (docs", StringComparison.Ordinal)]);
        Assert.NotNull(await child.WaitForAsync(line => line == "  add 1 READY "));

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var handler = new SocketsHttpHandler { Expect100ContinueTimeout = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { BaseAddress = uri, Timeout = Timeout.InfiniteTimeSpan };
        var body = new GatedContent(Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}"""), release.Task);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/add/infer") { Content = body };
        request.Headers.ExpectContinue = true;
        var call = http.SendAsync(request);
        try
        {
            // The server's handler runs (it asked for the body); then SIGTERM, and the child says it drains.
            await body.Started;
            child.Terminate();
            Assert.NotNull(await child.WaitForAsync(line => line.Contains(DrainLine, StringComparison.Ordinal)));

            using (var probe = new HttpClient { BaseAddress = uri })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await probe.GetAsync("/v2/health/ready")).StatusCode);
                using var refused = await probe.PostAsync("/v2/models/add/infer", new StringContent("{}", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            }

            release.SetResult();
            using var response = await call;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            Assert.True(text.Contains("\"data\":[2,3]", StringComparison.Ordinal), text);

            await child.Process.WaitForExitAsync();
            Assert.True(child.Process.ExitCode == 0, $"exit code {child.Process.ExitCode}: {child.Errors}");
        }
        finally
        {
            release.TrySetResult();
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A body HttpClient writes only after 100 Continue (then <see cref="Started"/> completes) and once released.</summary>
    private sealed class GatedContent(byte[] body, Task release) : HttpContent
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            _started.TrySetResult();
            await release;
            await stream.WriteAsync(body);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    /// <summary>The built <c>pronto serve</c> on free ports, its standard output read line by line as events.</summary>
    private sealed class ServeChild : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly List<string> _lines = [];
        private readonly List<(Func<string, bool> Match, TaskCompletionSource<string?> Found)> _waits = [];
        private readonly StringBuilder _errors = new();
        private bool _ended;

        private ServeChild(Process process)
        {
            Process = process;
            _ = ReadLinesAsync();
            _ = ReadErrorsAsync();
        }

        public Process Process { get; }

        public string Errors
        {
            get
            {
                lock (_gate)
                {
                    return _errors.ToString();
                }
            }
        }

        public static ServeChild Start(string repository)
        {
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "pronto.dll"), "-r", repository, "serve", "--http-port", "0", "--grpc-port", "0", "--shutdown-timeout-seconds", "600" })
            {
                start.ArgumentList.Add(a);
            }

            return new ServeChild(Process.Start(start)!);
        }

        /// <summary>The first line (seen already or to come) that matches; null when the child's output ends first.</summary>
        public Task<string?> WaitForAsync(Func<string, bool> match)
        {
            lock (_gate)
            {
                var seen = _lines.Find(l => match(l));
                if (seen is not null || _ended)
                {
                    return Task.FromResult(seen);
                }

                var found = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waits.Add((match, found));
                return found.Task;
            }
        }

        /// <summary>SIGTERM, as a container runtime or systemd sends it (Process.Kill would be SIGKILL).</summary>
        public void Terminate()
        {
            using var kill = Process.Start("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
            Assert.Equal(0, kill.ExitCode);
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
            }

            Process.Dispose();
        }

        private async Task ReadLinesAsync()
        {
            while (await Process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_gate)
                {
                    _lines.Add(line);
                    for (var i = _waits.Count - 1; i >= 0; i--)
                    {
                        if (_waits[i].Match(line))
                        {
                            _waits[i].Found.TrySetResult(line);
                            _waits.RemoveAt(i);
                        }
                    }
                }
            }

            lock (_gate)
            {
                _ended = true;
                foreach (var (_, found) in _waits)
                {
                    found.TrySetResult(null);
                }

                _waits.Clear();
            }
        }

        private async Task ReadErrorsAsync()
        {
            while (await Process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_gate)
                {
                    _errors.AppendLine(line);
                }
            }
        }
    }
}
