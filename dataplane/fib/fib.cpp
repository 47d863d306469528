// dataplane/fib/fib.cpp — applying a batch to a generation copy. The Publisher calls it twice per
// publication (on the spare before the push, on the old copy after the grace period), so both
// copies of the double buffer end up identical.
#include "dataplane/fib/fib.hpp"

#include <algorithm>

namespace rsfwd::fib {

bool Batch::empty() const noexcept {
    if (!group_writes.empty() || !hosts.empty()) return false;
    return std::all_of(views.begin(), views.end(), [](const TableOps& o) { return o.empty(); });
}

void apply(Generation& g, const Batch& b) {
    if (g.groups.size() < b.groups_size) g.groups.resize(b.groups_size);
    for (const auto& [id, grp] : b.group_writes) g.groups[id] = grp;
    for (std::size_t v = 0; v < b.views.size() && v < g.views.size(); ++v) {
        const TableOps& o = b.views[v];
        if (o.full4)
            g.views[v].v4 = *o.full4;
        else if (!o.rm4.empty() || !o.up4.empty())
            g.views[v].v4.apply(o.up4, o.rm4);
        if (o.full6)
            g.views[v].v6 = *o.full6;
        else if (!o.rm6.empty() || !o.up6.empty())
            g.views[v].v6.apply(o.up6, o.rm6);
    }
    if (!b.hosts.up4.empty() || !b.hosts.rm4.empty()) g.hosts4.apply(b.hosts.up4, b.hosts.rm4);
    if (!b.hosts.up6.empty() || !b.hosts.rm6.empty()) g.hosts6.apply(b.hosts.up6, b.hosts.rm6);
}

} // namespace rsfwd::fib
