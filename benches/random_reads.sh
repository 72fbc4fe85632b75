# Sourced by the read benchmarks: writes the wrk script of random public reads.
#
#   write_random_reads_lua <file> <products> <date>...
#
# A random product and date per request (LOAD_MODE=slots), a random product's dates
# (LOAD_MODE=dates), or 9 slots reads to 1 dates read (LOAD_MODE=mixed). Every request's text
# is built once per wrk thread in `init` and drawn at random per request: built per request
# (wrk.format in Lua), it cost wrk about a third more CPU per request than /healthz's static
# request, and that CPU comes out of the same two cores the server runs on.
write_random_reads_lua() {
  local file=$1 products=$2
  shift 2
  cat >"$file" <<LUA
local dates = { $(printf '"%s",' "$@") }
local products, mode = ${products}, os.getenv("LOAD_MODE") or "slots"
local slots_requests, dates_requests, n = {}, {}, 0
setup = function(thread) thread:set("seed", math.random(1, 1000000)) end
init = function(args)
  math.randomseed(seed or os.time())
  for product = 1, products do
    dates_requests[product] = wrk.format("GET", "/api/v1/experience/" .. product .. "/dates")
    for _, date in ipairs(dates) do
      slots_requests[#slots_requests + 1] =
        wrk.format("GET", "/api/v1/experience/" .. product .. "/slots?date=" .. date)
    end
  end
end
request = function()
  n = n + 1
  if mode == "dates" or (mode == "mixed" and n % 10 == 0) then
    return dates_requests[math.random(1, products)]
  end
  return slots_requests[math.random(1, #slots_requests)]
end
LUA
}
