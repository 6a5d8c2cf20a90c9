// The official Anthropic SDK (npm `@anthropic-ai/sdk`, pinned in package-lock.json) as a client
// of the real nexus-api: served from an OpenAI-compatible channel (the mock SiliconFlow,
// translated both ways) and from an Anthropic channel (the mock speaking Anthropic's wire,
// relayed as it is). Then the OpenAI SDK against the Anthropic channel (translated the other
// way). Claude clients need only the base URL and a nexus token.
//
// Run by `make test` through ctest, which sets NEXUS_BIN and NEXUS_MOCK_BIN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay } from '../support/spawn.mjs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const ADMIN_KEY = 'sdk-admin-key-0123456789abcdef';
const UPSTREAM_KEY = 'sk-mock-sdk-upstream-key-0123';
const TOKEN = 'sk-nexus-sdk-claude-token-0123456789';

let relay;
let root;

before(async () => {
  relay = await startRelay({
    upstreamKey: UPSTREAM_KEY,
    adminKey: ADMIN_KEY,
    env: { NEXUS_CHANNEL_COOLDOWN_SECONDS: '0', NEXUS_STREAM_PING_SECONDS: '0.5' },
  });
  root = relay.root;
  const base_url = relay.upstream;
  await relay.admin('POST', '/api/channel', {
    type: 'SiliconFlow', name: 'mock SiliconFlow', key: UPSTREAM_KEY, base_url,
    models: ['Qwen/Qwen2.5-7B-Instruct', 'mock-tool-call', 'mock-rate-limit', 'mock-unknown-model', 'mock-pause-stream',
      'claude-sonnet-4-5'],
    // Claude Code asks for Claude models: served here by a SiliconFlow model.
    model_mapping: { 'claude-sonnet-4-5': 'Qwen/Qwen2.5-7B-Instruct' },
  });
  await relay.admin('POST', '/api/channel', {
    type: 'Anthropic', name: 'mock Anthropic', key: UPSTREAM_KEY, base_url,
    models: ['claude-native', 'claude-tools', 'claude-long-prompt', 'claude-overloaded'],
    model_mapping: { 'claude-tools': 'mock-tool-call', 'claude-long-prompt': 'mock-bad-request',
      'claude-overloaded': 'mock-overloaded' },
  });
  await relay.admin('POST', '/api/token', { name: 'claude', key: TOKEN });
});

after(() => relay?.stop());

const claude = (options = {}) => new Anthropic({ apiKey: TOKEN, baseURL: root, maxRetries: 0, timeout: 20000, ...options });
const messages = [{ role: 'user', content: 'hi' }];
const tools = [
  { name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
  { name: 'get_time', input_schema: { type: 'object', properties: {} } },
];

// --- From an OpenAI-compatible channel, translated ----------------------------------------

test('messages.create from an OpenAI channel: the answer as an Anthropic message', async () => {
  const message = await claude().messages.create({ model: 'Qwen/Qwen2.5-7B-Instruct', max_tokens: 64, messages });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.deepEqual(message.content, [{ type: 'text', text: 'Hello from mock' }]);
  assert.equal(message.stop_reason, 'end_turn');
  assert.equal(message.usage.input_tokens, 5);
  assert.equal(message.usage.output_tokens, 3);
  assert.match(message._request_id, /^[0-9a-f]{32}$/);
});

test('a Claude model name mapped to a SiliconFlow model, with Bearer auth as Claude Code sends it', async () => {
  const client = new Anthropic({ authToken: TOKEN, apiKey: null, baseURL: root, maxRetries: 0 });
  const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages,
    system: [{ type: 'text', text: 'You are Claude Code.' }] });
  assert.equal(message.content[0].text, 'Hello from mock');
  assert.equal(message.model, 'claude-sonnet-4-5');
});

test('messages.stream() from an OpenAI channel: events in order, finalMessage whole', async () => {
  const stream = claude().messages.stream({ model: 'Qwen/Qwen2.5-7B-Instruct', max_tokens: 64, messages });
  const events = [];
  stream.on('streamEvent', (event) => events.push(event.type));
  let text = '';
  stream.on('text', (delta) => { text += delta; });
  const final = await stream.finalMessage();
  assert.equal(events[0], 'message_start');
  assert.deepEqual(events.slice(-2), ['message_delta', 'message_stop']);
  assert.equal(text, 'tok0 tok1 tok2 ');
  assert.equal(final.content.length, 1);
  assert.equal(final.content[0].type, 'text');
  assert.equal(final.content[0].text, 'tok0 tok1 tok2 ');
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, 3);
  assert.ok(final.usage.input_tokens > 0);
});

test('a tool-use round trip from an OpenAI channel, streamed: thinking, two tool_use blocks, then the result', async () => {
  const stream = claude().messages.stream({ model: 'mock-tool-call', max_tokens: 256, tools, messages });
  const indices = [];
  stream.on('streamEvent', (event) => { if (event.type === 'content_block_start') indices.push(event.index); });
  const first = await stream.finalMessage();
  assert.deepEqual(indices, [0, 1, 2]);
  assert.equal(first.stop_reason, 'tool_use');
  assert.equal(first.content[0].type, 'thinking');
  assert.equal(first.content[0].thinking, 'Thinking about the weather');
  const uses = first.content.filter((b) => b.type === 'tool_use');
  assert.deepEqual(uses.map((u) => [u.id, u.name, u.input]), [
    ['call_0', 'get_weather', { city: 'Paris' }],
    ['call_1', 'get_time', { city: 'Paris' }],
  ]);
  const second = await claude().messages.create({
    model: 'mock-tool-call', max_tokens: 256, tools,
    messages: [...messages, { role: 'assistant', content: first.content },
      { role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: `${u.name}: sunny` })) }],
  });
  assert.equal(second.stop_reason, 'end_turn');
  // The mock answers with the last tool result it was given.
  assert.equal(second.content[0].text, 'Tool said: get_time: sunny');
});

test('a tool call from an OpenAI channel, not streamed', async () => {
  const message = await claude().messages.create({ model: 'mock-tool-call', max_tokens: 256, tools, messages,
    tool_choice: { type: 'any' } });
  assert.equal(message.stop_reason, 'tool_use');
  assert.deepEqual(message.content.filter((b) => b.type === 'tool_use').map((u) => u.input), [{ city: 'Paris' }, { city: 'Paris' }]);
  assert.equal(message.usage.cache_read_input_tokens, 4);
  assert.equal(message.usage.input_tokens, 16);
});

test('a silent upstream: the pings in between (the SDK skips them) leave the text whole', async () => {
  // The pings themselves are counted on the wire by the C++ suite (AnthropicRelay).
  const final = await claude().messages.stream({ model: 'mock-pause-stream', max_tokens: 64, messages }).finalMessage();
  assert.equal(final.content[0].text, 'tok0 tok1 ');
  assert.equal(final.usage.output_tokens, 2);
});

test('a bad token raises AuthenticationError in Anthropic\'s shape', async () => {
  const bad = new Anthropic({ apiKey: 'sk-not-a-nexus-token', baseURL: root, maxRetries: 0 });
  await assert.rejects(bad.messages.create({ model: 'Qwen/Qwen2.5-7B-Instruct', max_tokens: 8, messages }), (err) => {
    assert.ok(err instanceof Anthropic.AuthenticationError, err.constructor.name);
    assert.equal(err.status, 401);
    assert.equal(err.error.type, 'error');
    assert.equal(err.error.error.type, 'authentication_error');
    assert.match(err.requestID, /^[0-9a-f]{32}$/);
    return true;
  });
});

test('an upstream 429 raises RateLimitError with the upstream\'s message', async () => {
  await assert.rejects(claude().messages.create({ model: 'mock-rate-limit', max_tokens: 8, messages }), (err) => {
    assert.ok(err instanceof Anthropic.RateLimitError, err.constructor.name);
    assert.equal(err.error.error.type, 'rate_limit_error');
    assert.equal(err.error.error.message, 'Request was rejected due to rate limiting. Details: TPM limit reached.');
    assert.equal(err.headers.get('retry-after'), '7');
    return true;
  });
});

test('an upstream 400 raises BadRequestError; a request nexus-api refuses is one too', async () => {
  await assert.rejects(claude().messages.create({ model: 'mock-unknown-model', max_tokens: 8, messages }), (err) => {
    assert.ok(err instanceof Anthropic.BadRequestError, err.constructor.name);
    assert.equal(err.error.error.type, 'invalid_request_error');
    assert.equal(err.error.error.message, 'Model does not exist. Please check it carefully.');
    return true;
  });
  await assert.rejects(claude().messages.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages }), (err) => {
    assert.ok(err instanceof Anthropic.BadRequestError, err.constructor.name);
    assert.match(err.error.error.message, /max_tokens/);
    return true;
  });
});

test('countTokens: a local estimate, never 0, that grows with the text, tools and system', async () => {
  const count = (body) => claude().messages.countTokens({ model: 'claude-sonnet-4-5', ...body });
  const small = await count({ messages });
  const longer = await count({ messages: [{ role: 'user', content: 'hi '.repeat(400) }] });
  const chinese = await count({ messages: [{ role: 'user', content: '你好世界'.repeat(50) }] });
  const withTools = await count({ messages, tools });
  const withSystem = await count({ messages, system: 'You are a careful assistant. '.repeat(20) });
  assert.ok(small.input_tokens > 0);
  assert.ok(longer.input_tokens > small.input_tokens + 250, JSON.stringify(longer));
  assert.ok(chinese.input_tokens >= small.input_tokens + 190, JSON.stringify(chinese));  // 200 characters
  assert.ok(withTools.input_tokens > small.input_tokens);
  assert.ok(withSystem.input_tokens > small.input_tokens + 100);
});

// --- From an Anthropic channel, relayed as it is ---------------------------------------------

test('messages.stream() from an Anthropic channel: its own events, usage included', async () => {
  const stream = claude().messages.stream({ model: 'claude-native', max_tokens: 64, messages });
  const final = await stream.finalMessage();
  assert.equal(final.id, 'msg_mock1');
  assert.equal(final.content[0].text, 'tok0 tok1 tok2 ');
  assert.equal(final.usage.output_tokens, 3);
  assert.equal(final.usage.cache_read_input_tokens, 2);
});

test('tool use from an Anthropic channel: signed thinking and tool_use as Anthropic sent them', async () => {
  const message = await claude().messages.create({ model: 'claude-tools', max_tokens: 256, tools, messages });
  assert.equal(message.content[0].signature, 'sig');
  assert.deepEqual(message.content.slice(1).map((b) => [b.type, b.name, b.input]), [
    ['tool_use', 'get_weather', { city: 'Paris' }],
    ['tool_use', 'get_time', { city: 'Paris' }],
  ]);
});

test('an Anthropic channel\'s errors reach the client unchanged in wording', async () => {
  await assert.rejects(claude().messages.create({ model: 'claude-long-prompt', max_tokens: 8, messages }), (err) => {
    assert.ok(err instanceof Anthropic.BadRequestError, err.constructor.name);
    assert.equal(err.error.error.message, 'prompt is too long: 210000 tokens > 200000 maximum');
    return true;
  });
  await assert.rejects(claude().messages.create({ model: 'claude-overloaded', max_tokens: 8, messages }), (err) => {
    assert.ok(err instanceof Anthropic.InternalServerError, err.constructor.name);
    assert.equal(err.status, 529);
    assert.equal(err.error.error.type, 'overloaded_error');
    assert.equal(err.error.error.message, 'Overloaded');
    return true;
  });
});

// --- The OpenAI SDK against the Anthropic channel, translated --------------------------------

const openai = () => new OpenAI({ apiKey: TOKEN, baseURL: `${root}/v1`, maxRetries: 0, timeout: 20000 });

test('OpenAI chat completion from an Anthropic channel', async () => {
  const completion = await openai().chat.completions.create({ model: 'claude-native', messages: [
    { role: 'system', content: 'Be brief.' }, ...messages] });
  assert.equal(completion.choices[0].message.content, 'Hello from Claude mock');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(completion.usage, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14,
    prompt_tokens_details: { cached_tokens: 2 } });
});

test('OpenAI stream from an Anthropic channel, with include_usage', async () => {
  const stream = await openai().chat.completions.create({ model: 'claude-native', messages, stream: true,
    stream_options: { include_usage: true } });
  let text = '';
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'tok0 tok1 tok2 ');
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(chunks.at(-1).usage.completion_tokens, 3);
  assert.equal(chunks.at(-1).usage.prompt_tokens, 10);
});

test('OpenAI tool calls from an Anthropic channel, streamed and not', async () => {
  const functions = tools.map((t) => ({ type: 'function', function: { name: t.name, parameters: t.input_schema } }));
  const stream = openai().chat.completions.stream({ model: 'claude-tools', messages, tools: functions });
  const streamed = await stream.finalChatCompletion();
  const calls = streamed.choices[0].message.tool_calls;
  assert.deepEqual(calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [
    ['toolu_0', 'get_weather', { city: 'Paris' }],
    ['toolu_1', 'get_time', { city: 'Paris' }],
  ]);
  assert.equal(streamed.choices[0].finish_reason, 'tool_calls');
  const whole = await openai().chat.completions.create({ model: 'claude-tools', messages, tools: functions,
    parallel_tool_calls: false });
  assert.equal(whole.choices[0].message.tool_calls.length, 2);
  const answered = await openai().chat.completions.create({ model: 'claude-tools', tools: functions, messages: [
    ...messages, whole.choices[0].message,
    { role: 'tool', tool_call_id: 'toolu_0', content: 'rainy' },
    { role: 'tool', tool_call_id: 'toolu_1', content: 'noon' }] });
  assert.equal(answered.choices[0].message.content, 'Tool said: rainy');
});
