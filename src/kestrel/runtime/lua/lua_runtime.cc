// LuaRuntime; see lua_runtime.h.
#include "kestrel/runtime/lua/lua_runtime.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
}

#include <algorithm>
#include <cstdlib>

#include "fmt/format.h"
#include "kestrel/runtime/host_api.h"

namespace kestrel::runtime {

struct LuaRuntime::State {
  LuaLimits limits;
  lua_State* L = nullptr;
  size_t used = 0;
  uint64_t steps = 0;
  bool limit_hit = false;
  kestrel_host_ctx* ctx = nullptr;  // during Call()

  ~State() {
    if (L != nullptr) lua_close(L);
  }
};

namespace {

using State = LuaRuntime::State;

void* Allocate(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* s = static_cast<State*>(ud);
  if (new_size == 0) {
    s->used -= old_size;
    std::free(ptr);
    return nullptr;
  }
  if (new_size > old_size && s->used - old_size + new_size > s->limits.max_memory) {
    return nullptr;
  }
  void* p = std::realloc(ptr, new_size);
  if (p != nullptr) s->used = s->used - old_size + new_size;
  return p;
}

State* Self(lua_State* L) { return static_cast<State*>(lua_touserdata(L, lua_upvalueindex(1))); }

void Hook(lua_State* L, lua_Debug*) {
  State* s = nullptr;
  lua_getallocf(L, reinterpret_cast<void**>(&s));
  s->steps += LuaRuntime::kHookInterval;
  if (s->steps > s->limits.max_instructions) {
    s->limit_hit = true;
    luaL_error(L, "step limit exceeded (%d instructions)",
               static_cast<int>(s->limits.max_instructions));
  }
}

uint32_t U32(lua_State* L, int i) { return static_cast<uint32_t>(luaL_checknumber(L, i)); }
int32_t I32(lua_State* L, int i) { return static_cast<int32_t>(luaL_checknumber(L, i)); }
int32_t OptIndex(lua_State* L, int i) {
  return lua_isnoneornil(L, i) ? KESTREL_WHOLE_FIELD : I32(L, i);
}

// The Host API as Lua C functions (upvalue 1: the State).
int RequireApi(lua_State* L) {
  lua_Integer v = luaL_checkinteger(L, 1);
  if (v != KESTREL_HOST_API_VERSION) {
    return luaL_error(L, "Host API version mismatch: chunk needs %d, host implements %d",
                      static_cast<int>(v), static_cast<int>(KESTREL_HOST_API_VERSION));
  }
  return 0;
}
int ApiVersion(lua_State* L) {
  lua_pushinteger(L, kestrel_host_api_version());
  return 1;
}
int FieldId(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  uint32_t id = kestrel_field_id(Self(L)->ctx, name, static_cast<uint32_t>(n));
  if (id == KESTREL_NO_FIELD) {
    lua_pushnil(L);
  } else {
    lua_pushnumber(L, id);
  }
  return 1;
}
int FieldKind(lua_State* L) {
  lua_pushinteger(L, kestrel_field_kind(Self(L)->ctx, U32(L, 1), OptIndex(L, 2)));
  return 1;
}
int FieldI64(lua_State* L) {
  lua_pushnumber(
      L, static_cast<lua_Number>(kestrel_field_i64(Self(L)->ctx, U32(L, 1), OptIndex(L, 2))));
  return 1;
}
int FieldF64(lua_State* L) {
  lua_pushnumber(L, kestrel_field_f64(Self(L)->ctx, U32(L, 1), OptIndex(L, 2)));
  return 1;
}
int FieldBool(lua_State* L) {
  lua_pushboolean(L, kestrel_field_bool(Self(L)->ctx, U32(L, 1), OptIndex(L, 2)));
  return 1;
}
int FieldString(lua_State* L) {
  const char* data = nullptr;
  uint32_t size = 0;
  if (kestrel_field_string(Self(L)->ctx, U32(L, 1), OptIndex(L, 2), &data, &size)) {
    lua_pushlstring(L, data, size);
  } else {
    lua_pushnil(L);
  }
  return 1;
}
int FieldArrayLen(lua_State* L) {
  lua_pushinteger(L, kestrel_field_array_len(Self(L)->ctx, U32(L, 1)));
  return 1;
}
int FieldMatch(lua_State* L) {
  size_t n = 0;
  const char* p = luaL_checklstring(L, 5, &n);
  lua_pushinteger(L, kestrel_field_match(Self(L)->ctx, U32(L, 1), I32(L, 2), I32(L, 3), U32(L, 4),
                                         p, static_cast<uint32_t>(n)));
  return 1;
}
int FieldCompareI64(lua_State* L) {
  lua_pushinteger(
      L, kestrel_field_compare_i64(Self(L)->ctx, U32(L, 1), I32(L, 2), I32(L, 3), U32(L, 4),
                                   static_cast<int64_t>(luaL_checknumber(L, 5))));
  return 1;
}
int FieldCompareF64(lua_State* L) {
  lua_pushinteger(L, kestrel_field_compare_f64(Self(L)->ctx, U32(L, 1), I32(L, 2), I32(L, 3),
                                               U32(L, 4), luaL_checknumber(L, 5)));
  return 1;
}
int StringMatch(lua_State* L) {
  size_t tn = 0, pn = 0;
  const char* t = luaL_checklstring(L, 3, &tn);
  const char* p = luaL_checklstring(L, 4, &pn);
  lua_pushinteger(L, kestrel_string_match(Self(L)->ctx, I32(L, 1), U32(L, 2), t,
                                          static_cast<uint32_t>(tn), p, static_cast<uint32_t>(pn)));
  return 1;
}
int Lineage(lua_State* L) {
  lua_pushinteger(L, kestrel_lineage(Self(L)->ctx, U32(L, 1)));
  return 1;
}
int EvalNode(lua_State* L) {
  lua_pushinteger(L, kestrel_eval_node(Self(L)->ctx, U32(L, 1)));
  return 1;
}
int ReportError(lua_State* L) {
  size_t n = 0;
  const char* m = luaL_optlstring(L, 2, "", &n);
  kestrel_report_error(Self(L)->ctx, I32(L, 1), m, static_cast<uint32_t>(n));
  return 0;
}

constexpr luaL_Reg kHostFunctions[] = {
    {"require_api", RequireApi},
    {"api_version", ApiVersion},
    {"field_id", FieldId},
    {"field_kind", FieldKind},
    {"field_i64", FieldI64},
    {"field_f64", FieldF64},
    {"field_bool", FieldBool},
    {"field_string", FieldString},
    {"field_array_len", FieldArrayLen},
    {"field_match", FieldMatch},
    {"field_compare_i64", FieldCompareI64},
    {"field_compare_f64", FieldCompareF64},
    {"string_match", StringMatch},
    {"lineage", Lineage},
    {"eval_node", EvalNode},
    {"report_error", ReportError},
};

constexpr const char* kRemovedGlobals[] = {
    "dofile",  "loadfile",       "load",     "loadstring", "require", "module",  "getfenv",
    "setfenv", "collectgarbage", "newproxy", "gcinfo",     "print",   "rawequal"};

// Registry keys.
constexpr char kSafeGlobals[] = "kestrel.safe_globals";
constexpr char kHostTable[] = "kestrel.host";

// Pushes a new table with a copy of each safe global (a fresh global table for one chunk).
void PushChunkEnv(lua_State* L) {
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, kSafeGlobals);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -5);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
}

void OpenLibrary(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

}  // namespace

LuaRuntime::LuaRuntime(std::unique_ptr<State> state) : state_(std::move(state)) {}
LuaRuntime::~LuaRuntime() = default;

absl::StatusOr<std::unique_ptr<LuaRuntime>> LuaRuntime::Create(const LuaLimits& limits) {
  auto s = std::make_unique<State>();
  s->limits = limits;
  s->L = lua_newstate(Allocate, s.get());
  if (s->L == nullptr) return absl::ResourceExhaustedError("cannot create a Lua state");
  lua_State* L = s->L;
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  OpenLibrary(L, luaopen_base, "");
  OpenLibrary(L, luaopen_table, LUA_TABLIBNAME);
  OpenLibrary(L, luaopen_string, LUA_STRLIBNAME);
  OpenLibrary(L, luaopen_math, LUA_MATHLIBNAME);
  OpenLibrary(L, luaopen_bit, LUA_BITLIBNAME);
  for (const char* name : kRemovedGlobals) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  // The safe globals, copied into each chunk's environment.
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, LUA_GLOBALSINDEX) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, kSafeGlobals);
  // The Host API table.
  lua_newtable(L);
  for (const luaL_Reg& r : kHostFunctions) {
    lua_pushlightuserdata(L, s.get());
    lua_pushcclosure(L, r.func, 1);
    lua_setfield(L, -2, r.name);
  }
  lua_pushinteger(L, KESTREL_HOST_API_VERSION);
  lua_setfield(L, -2, "API_VERSION");
  lua_setfield(L, LUA_REGISTRYINDEX, kHostTable);
  if (limits.step_hook) lua_sethook(L, Hook, LUA_MASKCOUNT, kHookInterval);
  return std::unique_ptr<LuaRuntime>(new LuaRuntime(std::move(s)));
}

absl::StatusOr<std::vector<int>> LuaRuntime::Load(std::string_view source, std::string_view name) {
  lua_State* L = state_->L;
  if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
    return absl::InvalidArgumentError(fmt::format("{}: binary Lua chunks are refused", name));
  }
  std::string chunk_name = fmt::format("={}", name);
  int top = lua_gettop(L);
  if (luaL_loadbuffer(L, source.data(), source.size(), chunk_name.c_str()) != 0) {
    std::string msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "load error";
    lua_settop(L, top);
    return absl::InvalidArgumentError(msg);
  }
  PushChunkEnv(L);
  lua_setfenv(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, kHostTable);
  state_->steps = 0;
  state_->ctx = nullptr;
  if (lua_pcall(L, 1, 1, 0) != 0) {
    std::string msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "error";
    lua_settop(L, top);
    return absl::InvalidArgumentError(fmt::format("{}: {}", name, msg));
  }
  if (!lua_istable(L, -1)) {
    lua_settop(L, top);
    return absl::InvalidArgumentError(
        fmt::format("{}: the chunk must return a table of predicate functions", name));
  }
  std::vector<int> handles;
  for (int i = 1;; ++i) {
    lua_rawgeti(L, -1, i);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isfunction(L, -1)) {
      lua_settop(L, top);
      for (int h : handles) luaL_unref(L, LUA_REGISTRYINDEX, h);
      return absl::InvalidArgumentError(fmt::format("{}: P[{}] is not a function", name, i));
    }
    handles.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  }
  lua_settop(L, top);
  return handles;
}

int32_t LuaRuntime::Call(int handle, kestrel_host_ctx* ctx, std::string* error) {
  State& s = *state_;
  lua_State* L = s.L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, handle);
  s.ctx = ctx;
  s.steps = 0;
  int rc = lua_pcall(L, 0, 1, 0);
  s.ctx = nullptr;
  if (rc != 0) {
    if (error != nullptr) {
      const char* m = lua_tostring(L, -1);
      *error = m != nullptr ? m : (rc == LUA_ERRMEM ? "not enough memory" : "error");
      if (rc == LUA_ERRMEM) *error = "memory limit: " + *error;
    }
    lua_pop(L, 1);
    return kError;
  }
  int32_t r = KESTREL_NULL;
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, -1);
    r = n == 1 ? KESTREL_TRUE : n == 0 ? KESTREL_FALSE : KESTREL_NULL;
  } else if (lua_type(L, -1) == LUA_TBOOLEAN) {
    r = lua_toboolean(L, -1) ? KESTREL_TRUE : KESTREL_FALSE;
  }
  lua_pop(L, 1);
  if (ctx != nullptr && ctx->error) {
    if (error != nullptr) {
      *error = fmt::format("reported error {}: {}", ctx->last_error.code, ctx->last_error.message);
    }
    ctx->error = false;
    return kError;
  }
  return r;
}

absl::StatusOr<std::vector<LuaRuntime::FunctionSpec>> LuaRuntime::LoadFunctions(
    std::string_view source, std::string_view name) {
  lua_State* L = state_->L;
  if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
    return absl::InvalidArgumentError(fmt::format("{}: binary Lua chunks are refused", name));
  }
  std::string chunk_name = fmt::format("={}", name);
  int top = lua_gettop(L);
  auto fail = [&](std::string message) {
    lua_settop(L, top);
    return absl::InvalidArgumentError(fmt::format("{}: {}", name, message));
  };
  if (luaL_loadbuffer(L, source.data(), source.size(), chunk_name.c_str()) != 0) {
    return fail(lua_isstring(L, -1) ? lua_tostring(L, -1) : "load error");
  }
  PushChunkEnv(L);
  lua_setfenv(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, kHostTable);
  state_->steps = 0;
  state_->ctx = nullptr;
  if (lua_pcall(L, 1, 1, 0) != 0) return fail(lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
  if (!lua_istable(L, -1)) return fail("a function module must return a table");
  std::vector<FunctionSpec> specs;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {  // key at -2, spec at -1
    if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
      return fail("each entry must be name = { params = {...}, returns = ..., fn = function }");
    }
    FunctionSpec spec;
    spec.name = lua_tostring(L, -2);
    lua_getfield(L, -1, "returns");
    spec.returns = lua_isstring(L, -1) ? lua_tostring(L, -1) : "any";
    lua_pop(L, 1);
    lua_getfield(L, -1, "params");
    if (lua_istable(L, -1)) {
      for (int i = 1;; ++i) {
        lua_rawgeti(L, -1, i);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        if (!lua_isstring(L, -1)) return fail(spec.name + ": params must be type names");
        spec.params.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "fn");
    if (!lua_isfunction(L, -1)) return fail(spec.name + ": fn must be a function");
    spec.handle = luaL_ref(L, LUA_REGISTRYINDEX);
    specs.push_back(std::move(spec));
    lua_pop(L, 1);  // the spec table; the key stays for lua_next
  }
  lua_settop(L, top);
  std::sort(specs.begin(), specs.end(),
            [](const FunctionSpec& a, const FunctionSpec& b) { return a.name < b.name; });
  return specs;
}

bool LuaRuntime::CallFunction(int handle, std::span<const event::Value> args,
                              base::StringArena* arena, event::Value* result, std::string* error) {
  using event::Value;
  using event::ValueKind;
  State& s = *state_;
  lua_State* L = s.L;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, static_cast<int>(args.size()) + 2)) {
    *error = "too many arguments";
    return false;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, handle);
  for (const Value& v : args) {
    switch (v.kind()) {
      case ValueKind::kBool:
        lua_pushboolean(L, v.as_bool());
        break;
      case ValueKind::kInt:
        lua_pushnumber(L, static_cast<lua_Number>(v.as_int()));
        break;
      case ValueKind::kUint:
        lua_pushnumber(L, static_cast<lua_Number>(v.as_uint()));
        break;
      case ValueKind::kDouble:
        lua_pushnumber(L, v.as_double());
        break;
      case ValueKind::kString:
        lua_pushlstring(L, v.as_string().data(), v.as_string().size());
        break;
      case ValueKind::kArray: {  // a table of its string, number and boolean elements
        lua_createtable(L, static_cast<int>(v.as_array().size()), 0);
        int i = 0;
        for (const Value& e : v.as_array()) {
          if (e.kind() == ValueKind::kString) {
            lua_pushlstring(L, e.as_string().data(), e.as_string().size());
          } else if (e.kind() == ValueKind::kInt) {
            lua_pushnumber(L, static_cast<lua_Number>(e.as_int()));
          } else if (e.kind() == ValueKind::kDouble) {
            lua_pushnumber(L, e.as_double());
          } else if (e.kind() == ValueKind::kBool) {
            lua_pushboolean(L, e.as_bool());
          } else {
            continue;
          }
          lua_rawseti(L, -2, ++i);
        }
        break;
      }
      default:
        lua_pushnil(L);
    }
  }
  s.steps = 0;
  s.ctx = nullptr;
  int rc = lua_pcall(L, static_cast<int>(args.size()), 1, 0);
  if (rc != 0) {
    const char* m = lua_tostring(L, -1);
    *error = m != nullptr ? m : "error";
    if (rc == LUA_ERRMEM) *error = "memory limit: " + *error;
    lua_settop(L, top);
    return false;
  }
  bool ok = true;
  switch (lua_type(L, -1)) {
    case LUA_TNIL:
      *result = Value::Null();
      break;
    case LUA_TBOOLEAN:
      *result = Value::Bool(lua_toboolean(L, -1));
      break;
    case LUA_TNUMBER: {
      lua_Number n = lua_tonumber(L, -1);
      if (n == static_cast<lua_Number>(static_cast<int64_t>(n)) && n > -9.2e18 && n < 9.2e18) {
        *result = Value::Int(static_cast<int64_t>(n));
      } else {
        *result = Value::Double(n);
      }
      break;
    }
    case LUA_TSTRING: {
      size_t n = 0;
      const char* p = lua_tolstring(L, -1, &n);
      if (arena == nullptr) {
        *error = "no arena for a string result";
        ok = false;
      } else {
        *result = Value::String(arena->Copy(std::string_view(p, n)));
      }
      break;
    }
    default:
      *error = fmt::format("returned a {}", lua_typename(L, lua_type(L, -1)));
      ok = false;
  }
  lua_settop(L, top);
  return ok;
}

size_t LuaRuntime::memory_used() const { return state_->used; }

}  // namespace kestrel::runtime
