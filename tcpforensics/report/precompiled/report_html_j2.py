# ruff: noqa
# Generated from templates/report.html.j2 by `python -m tcpforensics.report.precompile`; do not edit.
SOURCE_KEY = 'tcpforensics-template-key:1e0550eea8d69a695f4c5698e27e56b91ab7aaca5c253a41a5ed44b26c17ff13'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'report.html.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_csp = resolve('csp')
    l_0_version = resolve('version')
    l_0_capture = resolve('capture')
    l_0_plotly_src = resolve('plotly_src')
    l_0_nonce = resolve('nonce')
    l_0_findings = resolve('findings')
    l_0_table_total = resolve('table_total')
    l_0_details = resolve('details')
    l_0_verdict = resolve('verdict')
    l_0_stall_total = resolve('stall_total')
    l_0_top_findings = resolve('top_findings')
    l_0_stall_rows = resolve('stall_rows')
    l_0_figures_json = resolve('figures_json')
    l_0_finding_groups = resolve('finding_groups')
    l_0_table = resolve('table')
    l_0_table_rows = resolve('table_rows')
    l_0_source_ok = resolve('source_ok')
    l_0_second_pass_error = resolve('second_pass_error')
    l_0_generated = resolve('generated')
    l_0_plotly_js = resolve('plotly_js')
    l_0_m = missing
    try:
        t_1 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_2 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_3 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_4 = environment.filters['prose']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'prose' found.")
    try:
        t_5 = environment.filters['seconds']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'seconds' found.")
    try:
        t_6 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="'
    yield escape((undefined(name='csp') if l_0_csp is missing else l_0_csp))
    yield '">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="generator" content="tcpforensics '
    yield escape((undefined(name='version') if l_0_version is missing else l_0_version))
    yield '">\n<title>TCP report: '
    yield escape(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'name'))
    yield '</title>\n<style>\n'
    template = environment.get_template('report.css', 'report.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'m': l_0_m}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</style>\n'
    if (undefined(name='plotly_src') if l_0_plotly_src is missing else l_0_plotly_src):
        pass
        yield '<script nonce="'
        yield escape((undefined(name='nonce') if l_0_nonce is missing else l_0_nonce))
        yield '" src="'
        yield escape((undefined(name='plotly_src') if l_0_plotly_src is missing else l_0_plotly_src))
        yield '" charset="utf-8"></script>\n'
    yield '</head>\n<body>\n<nav class="top">\n  <span class="brand">tcpforensics</span>\n  <a href="#summary">Summary</a>\n  <a href="#findings">Findings ('
    yield escape(t_2((undefined(name='findings') if l_0_findings is missing else l_0_findings)))
    yield ')</a>\n  <a href="#flows">Flows ('
    yield escape((undefined(name='table_total') if l_0_table_total is missing else l_0_table_total))
    yield ')</a>\n'
    if (undefined(name='details') if l_0_details is missing else l_0_details):
        pass
        yield '<a href="#details">Flow details ('
        yield escape(t_2((undefined(name='details') if l_0_details is missing else l_0_details)))
        yield ')</a>'
    yield '  <a href="#capture">Capture</a>\n  <span class="file" title="'
    yield escape(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'path'))
    yield '">'
    yield escape(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'name'))
    yield '</span>\n</nav>\n<main>\n'
    l_0_m = context.vars['m'] = environment.get_template('macros.j2', 'report.html.j2')._get_default_module(context)
    context.exported_vars.discard('m')
    yield '\n<section id="summary">\n  <h1>TCP report: <span class="mono">'
    yield escape(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'name'))
    yield '</span></h1>\n  <div class="verdict sev-'
    yield escape(environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'severity'))
    yield '" id="verdict">\n    <span class="badge sev-'
    yield escape(environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'severity'))
    yield '">'
    yield escape(context.call(environment.getattr({'critical': 'Critical', 'warning': 'Warning', 'info': 'Note', 'ok': 'OK'}, 'get'), environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'severity'), environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'severity')))
    yield '</span>\n    <span class="verdict-text">'
    yield escape(environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'text'))
    yield '</span>\n'
    if environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'fix'):
        pass
        yield '<div class="verdict-fix"><span class="rec-k">First thing to change:</span> '
        yield escape(t_4(environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'fix')))
        yield ' <a href="#finding-'
        yield escape(environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'top'))
        yield '">details</a></div>'
    yield '  </div>\n'
    if environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'warnings'):
        pass
        yield '  <div class="alert" id="capture-warnings"><strong>Reading stopped early or hit problems:</strong>\n    <ul>'
        for l_1_w in environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'warnings'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '</ul>\n  </div>\n'
    yield '  <div class="facts">\n    <div class="fact"><span class="k">Duration</span><span class="v">'
    yield escape(t_5(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'duration')))
    yield '</span></div>\n    <div class="fact"><span class="k">Records</span><span class="v">'
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'records')))
    yield '</span></div>\n    <div class="fact"><span class="k">TCP segments</span><span class="v">'
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'tcp_segments')))
    yield '</span></div>\n    <div class="fact"><span class="k">TCP flows</span><span class="v">'
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'flows')))
    yield '</span></div>\n    <div class="fact"><span class="k">Skipped records</span><span class="v">'
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'skipped_total')))
    yield '</span>\n'
    if environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'skipped'):
        pass
        yield '<span class="sub">'
        l_1_loop = missing
        for (l_1_k, l_1_v), l_1_loop in LoopContext(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'skipped'), undefined):
            _loop_vars = {}
            pass
            yield escape(l_1_k)
            yield ' '
            yield escape(t_3(l_1_v))
            if (not environment.getattr(l_1_loop, 'last')):
                pass
                yield ', '
        l_1_loop = l_1_k = l_1_v = missing
        yield '</span>'
    yield '</div>\n    <div class="fact"><span class="k">Findings</span><span class="v">\n'
    for l_1_s in ('critical', 'warning', 'info'):
        l_1_sev_counts = resolve('sev_counts')
        _loop_vars = {}
        pass
        if environment.getitem((undefined(name='sev_counts') if l_1_sev_counts is missing else l_1_sev_counts), l_1_s):
            pass
            yield '<span class="badge sev-'
            yield escape(l_1_s)
            yield '">'
            yield escape(environment.getitem((undefined(name='sev_counts') if l_1_sev_counts is missing else l_1_sev_counts), l_1_s))
            yield ' '
            yield escape(l_1_s)
            yield '</span> '
    l_1_s = l_1_sev_counts = missing
    if (not (undefined(name='findings') if l_0_findings is missing else l_0_findings)):
        pass
        yield 'none'
    yield '</span></div>\n    <div class="fact"><span class="k">Time stalled</span><span class="v">'
    yield escape(t_5((undefined(name='stall_total') if l_0_stall_total is missing else l_0_stall_total)))
    yield '</span><span class="sub">summed over flows</span></div>\n  </div>\n\n'
    if (undefined(name='top_findings') if l_0_top_findings is missing else l_0_top_findings):
        pass
        yield '  <h2>'
        yield escape(('What went wrong, worst first' if (environment.getattr((undefined(name='verdict') if l_0_verdict is missing else l_0_verdict), 'severity') in ('critical', 'warning')) else 'Notes, by impact'))
        yield '</h2>\n  <div class="cards">\n'
        for l_1_f in (undefined(name='top_findings') if l_0_top_findings is missing else l_0_top_findings):
            _loop_vars = {}
            pass
            yield '    '
            yield escape(context.call(environment.getattr((undefined(name='m') if l_0_m is missing else l_0_m), 'finding_card'), l_1_f, compact=True, _loop_vars=_loop_vars))
            yield '\n'
        l_1_f = missing
        yield '  </div>\n'
        if (t_2((undefined(name='findings') if l_0_findings is missing else l_0_findings)) > t_2((undefined(name='top_findings') if l_0_top_findings is missing else l_0_top_findings))):
            pass
            yield '<p class="muted"><a href="#findings">All '
            yield escape(t_2((undefined(name='findings') if l_0_findings is missing else l_0_findings)))
            yield ' findings</a></p>'
    yield '\n'
    if (undefined(name='stall_rows') if l_0_stall_rows is missing else l_0_stall_rows):
        pass
        yield '  <h2>Where the time went</h2>\n  <div class="two">\n    <div class="chart" id="stall-summary" data-fig="stall-summary"></div>\n    <table class="small" id="stall-table">\n      <thead><tr><th>Stall cause</th><th class="r">Total</th><th class="r">Stalls</th><th class="r">Longest</th><th class="r">Flows</th></tr></thead>\n      <tbody>\n'
        for l_1_r in (undefined(name='stall_rows') if l_0_stall_rows is missing else l_0_stall_rows):
            _loop_vars = {}
            pass
            yield '        <tr><td><span class="swatch stall-'
            yield escape(environment.getattr(l_1_r, 'kind'))
            yield '"></span>'
            yield escape(environment.getattr(l_1_r, 'label'))
            yield '</td><td class="r">'
            yield escape(t_5(environment.getattr(l_1_r, 'seconds')))
            yield '</td><td class="r">'
            yield escape(t_3(environment.getattr(l_1_r, 'count')))
            yield '</td><td class="r">'
            yield escape(t_5(environment.getattr(l_1_r, 'max')))
            yield '</td><td class="r">'
            yield escape(t_3(environment.getattr(l_1_r, 'flows')))
            yield '</td></tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    if ((undefined(name='figures_json') if l_0_figures_json is missing else l_0_figures_json) and ((undefined(name='table_total') if l_0_table_total is missing else l_0_table_total) > 1)):
        pass
        yield '  <div class="chart" id="flows-overview" data-fig="flows-overview"></div>\n'
    yield '</section>\n\n<section id="findings">\n  <h2>Findings ('
    yield escape(t_2((undefined(name='findings') if l_0_findings is missing else l_0_findings)))
    yield ')</h2>\n'
    if (not (undefined(name='findings') if l_0_findings is missing else l_0_findings)):
        pass
        yield '<p class="muted">No findings: nothing in this capture matched a known TCP problem.</p>'
    l_1_loop = missing
    for l_1_group, l_1_loop in LoopContext((undefined(name='finding_groups') if l_0_finding_groups is missing else l_0_finding_groups), undefined):
        _loop_vars = {}
        pass
        yield '    '
        yield escape(context.call(environment.getattr((undefined(name='m') if l_0_m is missing else l_0_m), 'finding_card'), environment.getitem(l_1_group, 0), compact=False, _loop_vars=_loop_vars))
        yield '\n'
        if (t_2(l_1_group) > 1):
            pass
            yield '    <details class="similar" id="similar-'
            yield escape(environment.getattr(environment.getitem(l_1_group, 0), 'kind'))
            yield '"><summary>'
            yield escape((t_2(l_1_group) - 1))
            yield ' more '
            yield escape(environment.getattr(environment.getitem(l_1_group, 0), 'kind'))
            yield ' finding'
            yield escape(('s' if (t_2(l_1_group) > 2) else cond_expr_undefined("the inline if-expression on line 89 in 'report.html.j2' evaluated to false and no else section was defined.")))
            yield '</summary>\n      <table class="small">\n        <thead><tr><th>ID</th><th>Severity</th><th>Finding</th><th>Flows</th><th class="r">Impact</th></tr></thead>\n        <tbody>\n'
            l_2_loop = missing
            for l_2_f, l_2_loop in LoopContext(l_1_group[1:301], undefined):
                _loop_vars = {}
                pass
                yield '          <tr id="finding-'
                yield escape(environment.getattr(l_2_f, 'id'))
                yield '"><td class="mono">'
                yield escape(environment.getattr(l_2_f, 'id'))
                yield '</td><td><span class="badge sev-'
                yield escape(environment.getattr(l_2_f, 'severity'))
                yield '">'
                yield escape(environment.getattr(l_2_f, 'severity'))
                yield '</span></td>\n            <td>'
                yield escape(environment.getattr(l_2_f, 'title'))
                yield '</td>\n            <td>'
                l_3_loop = missing
                for l_3_fl, l_3_loop in LoopContext(environment.getattr(l_2_f, 'flows')[:10], undefined):
                    _loop_vars = {}
                    pass
                    yield '<a href="'
                    if environment.getattr(l_3_fl, 'detailed'):
                        pass
                        yield '#flow-'
                        yield escape(environment.getattr(l_3_fl, 'id'))
                    else:
                        pass
                        yield '#row-'
                        yield escape(environment.getattr(l_3_fl, 'id'))
                    yield '">'
                    yield escape(environment.getattr(l_3_fl, 'id'))
                    yield '</a>'
                    if (not environment.getattr(l_3_loop, 'last')):
                        pass
                        yield ', '
                l_3_loop = l_3_fl = missing
                if ((t_2(environment.getattr(l_2_f, 'flows')) > 10) or environment.getattr(l_2_f, 'more_flows')):
                    pass
                    yield ' &hellip;'
                yield '</td>\n            <td class="r">'
                yield escape((t_5(environment.getattr(l_2_f, 'impact')) if environment.getattr(l_2_f, 'impact') else '–'))
                yield '</td></tr>\n'
            l_2_loop = l_2_f = missing
            if (t_2(l_1_group) > 301):
                pass
                yield '<tr><td colspan="5" class="muted">&hellip; and '
                yield escape((t_2(l_1_group) - 301))
                yield ' more; <code>tcpforensics analyze</code> lists them all.</td></tr>'
            yield '        </tbody>\n      </table>\n    </details>\n'
    l_1_loop = l_1_group = missing
    yield '</section>\n\n<section id="flows">\n  <h2>Flows ('
    yield escape(t_3((undefined(name='table_total') if l_0_table_total is missing else l_0_table_total)))
    yield ')</h2>\n'
    if ((undefined(name='table_total') if l_0_table_total is missing else l_0_table_total) > t_2((undefined(name='table') if l_0_table is missing else l_0_table))):
        pass
        yield '<p class="muted">Showing the '
        yield escape(t_3(t_2((undefined(name='table') if l_0_table is missing else l_0_table))))
        yield ' worst flows of '
        yield escape(t_3((undefined(name='table_total') if l_0_table_total is missing else l_0_table_total)))
        yield '; use <code>tcpforensics analyze</code> for all of them.</p>'
    yield '  <div class="tools">\n    <input type="search" id="flow-filter" placeholder="Filter flows: address, port, state, finding, cca&hellip;" aria-label="Filter flows">\n    <label><input type="checkbox" id="flow-problems"> only flows with findings</label>\n    <span id="flow-count" class="muted"></span>\n  </div>\n  <div class="tablewrap">\n  <table id="flow-table" class="flows">\n    <thead><tr>\n      <th data-type="num">ID</th><th>Client</th><th>Server</th>\n      <th data-type="num" title="seconds since capture start">Start</th><th data-type="num">Duration</th>\n      <th>State</th>\n      <th data-type="num" title="packets client&rarr;server / server&rarr;client">Packets</th>\n      <th data-type="num" title="payload bytes client&rarr;server / server&rarr;client">Payload</th>\n      <th data-type="num" title="average payload rate over the flow\'s lifetime, larger direction">Avg rate</th>\n      <th data-type="num" title="median RTT (hover a cell for min and max)">RTT</th>\n      <th data-type="num" title="retransmitted segments">Retr</th>\n      <th data-type="num" title="duplicate ACKs">Dup ACK</th>\n      <th data-type="num" title="zero-window advertisements">Zero win</th>\n      <th data-type="num" title="time spent in stalls">Stalled</th>\n      <th title="inferred congestion control of the data senders">CCA</th>\n      <th data-type="sev">Findings</th>\n    </tr></thead>\n    <tbody>\n'
    yield escape((undefined(name='table_rows') if l_0_table_rows is missing else l_0_table_rows))
    yield '    </tbody>\n  </table>\n  </div>\n</section>\n\n'
    if (undefined(name='details') if l_0_details is missing else l_0_details):
        pass
        yield '<section id="details">\n  <h2>Flow details</h2>\n'
        if (not (undefined(name='source_ok') if l_0_source_ok is missing else l_0_source_ok)):
            pass
            yield '  <p class="alert" id="no-source">Per-segment charts (time-sequence graph, bytes in flight, RTT and throughput) are not in this report: it was rendered without a readable capture path, so the packets could not be read a second time. Re-run <code>tcpforensics report CAPTURE</code> on the file to get them.'
            if (undefined(name='second_pass_error') if l_0_second_pass_error is missing else l_0_second_pass_error):
                pass
                yield ' Reading it again failed: '
                yield escape((undefined(name='second_pass_error') if l_0_second_pass_error is missing else l_0_second_pass_error))
            yield '</p>\n'
        for l_1_d in (undefined(name='details') if l_0_details is missing else l_0_details):
            _loop_vars = {}
            pass
            yield '    '
            yield escape(context.call(environment.getattr((undefined(name='m') if l_0_m is missing else l_0_m), 'flow_detail'), l_1_d, _loop_vars=_loop_vars))
            yield '\n'
        l_1_d = missing
        yield '</section>\n'
    yield '\n<section id="capture">\n  <h2>Capture</h2>\n  <table class="kv">\n    <tr><th>File</th><td class="mono">'
    yield escape((environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'path') or '(stream)'))
    yield '</td></tr>\n    <tr><th>Format</th><td>'
    yield escape(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'format'))
    yield '; link types '
    yield escape((t_1(context.eval_ctx, environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'linktypes'), ', ') or '–'))
    yield '; snaplen '
    yield escape((environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'snaplen') if (not t_6(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'snaplen'))) else '–'))
    yield '</td></tr>\n    <tr><th>First packet</th><td>'
    yield escape((environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'started') or '–'))
    yield '</td></tr>\n    <tr><th>Records</th><td>'
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'records')))
    yield ' ('
    yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'tcp_segments')))
    yield ' TCP segments'
    for (l_1_k, l_1_v) in environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'skipped'):
        _loop_vars = {}
        pass
        yield ', '
        yield escape(t_3(l_1_v))
        yield ' '
        yield escape(l_1_k)
    l_1_k = l_1_v = missing
    yield ')</td></tr>\n'
    if environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'evicted'):
        pass
        yield '<tr><th>Evicted flows</th><td>'
        yield escape(t_3(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'evicted')))
        yield ' flows were dropped from memory before they ended (too many concurrent flows); their results may be partial.</td></tr>'
    for l_1_c in environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'comments'):
        _loop_vars = {}
        pass
        yield '<tr><th>Comment</th><td class="capture-text">'
        yield escape(l_1_c)
        yield '</td></tr>'
    l_1_c = missing
    l_1_loop = missing
    for l_1_i, l_1_loop in LoopContext(environment.getattr((undefined(name='capture') if l_0_capture is missing else l_0_capture), 'interfaces'), undefined):
        _loop_vars = {}
        pass
        yield '<tr><th>Interface '
        yield escape(environment.getattr(l_1_loop, 'index0'))
        yield '</th><td class="capture-text">'
        l_2_loop = missing
        for (l_2_k, l_2_v), l_2_loop in LoopContext(context.call(environment.getattr(l_1_i, 'items'), _loop_vars=_loop_vars), undefined):
            _loop_vars = {}
            pass
            yield escape(l_2_k)
            yield ': '
            yield escape(l_2_v)
            if (not environment.getattr(l_2_loop, 'last')):
                pass
                yield '; '
        l_2_loop = l_2_k = l_2_v = missing
        yield '</td></tr>'
    l_1_loop = l_1_i = missing
    yield '  </table>\n  <p class="muted foot">Generated '
    yield escape((undefined(name='generated') if l_0_generated is missing else l_0_generated))
    yield ' by tcpforensics '
    yield escape((undefined(name='version') if l_0_version is missing else l_0_version))
    yield '. Times are seconds since the first packet of the capture (as Wireshark shows them by default). Counters follow Wireshark\'s <code>tcp.analysis</code> flag names and count segments sent by that endpoint.</p>\n</section>\n</main>\n<script type="application/json" id="report-figures">'
    yield escape((undefined(name='figures_json') if l_0_figures_json is missing else l_0_figures_json))
    yield '</script>\n'
    if (undefined(name='plotly_js') if l_0_plotly_js is missing else l_0_plotly_js):
        pass
        yield '<script nonce="'
        yield escape((undefined(name='nonce') if l_0_nonce is missing else l_0_nonce))
        yield '">'
        yield escape((undefined(name='plotly_js') if l_0_plotly_js is missing else l_0_plotly_js))
        yield '</script>\n'
    yield '<script nonce="'
    yield escape((undefined(name='nonce') if l_0_nonce is missing else l_0_nonce))
    yield '">\n'
    template = environment.get_template('report.js', 'report.html.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'m': l_0_m}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '</script>\n</body>\n</html>'

blocks = {}
debug_info = '5=69&7=71&8=73&10=75&12=82&13=85&20=90&21=92&22=94&24=100&27=104&30=107&31=109&32=111&33=115&34=117&36=125&38=128&42=137&43=139&44=141&45=143&46=145&47=147&49=163&50=177&51=181&54=183&55=186&57=188&58=192&61=196&64=202&71=205&72=209&78=223&84=227&85=229&86=233&87=237&88=239&89=242&93=251&94=255&95=263&96=266&97=289&99=292&108=300&109=302&133=310&138=312&141=315&142=318&144=323&145=327&153=332&154=334&155=340&156=342&157=355&158=360&159=368&161=388&164=392&165=394&166=397&168=402&169=404'
