# ruff: noqa
# Generated from templates/macros.j2 by `python -m tcpforensics.report.precompile`; do not edit.
SOURCE_KEY = 'tcpforensics-template-key:e145aa272dbe293f18706c26ee7727d64a6645ddd82038eba9d4b94b07653574'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'macros.j2'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_finding_card = l_0_endpoint_table = l_0_flow_detail = missing
    try:
        t_1 = environment.filters['bytes']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'bytes' found.")
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
        t_5 = environment.filters['reltime']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'reltime' found.")
    try:
        t_6 = environment.filters['seconds']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'seconds' found.")
    try:
        t_7 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    def macro(l_1_f, l_1_compact):
        t_8 = []
        if l_1_f is missing:
            l_1_f = undefined("parameter 'f' was not provided", name='f')
        if l_1_compact is missing:
            l_1_compact = False
        pass
        t_8.extend((
            '<article class="card sev-',
            escape(environment.getattr(l_1_f, 'severity')),
            '" ',
        ))
        if (not l_1_compact):
            pass
            t_8.extend((
                'id="finding-',
                escape(environment.getattr(l_1_f, 'id')),
                '"',
            ))
        t_8.extend((
            '>\n  <header>\n    <span class="badge sev-',
            escape(environment.getattr(l_1_f, 'severity')),
            '">',
            escape(environment.getattr(l_1_f, 'severity')),
            '</span>\n    <span class="fid">',
            escape(environment.getattr(l_1_f, 'id')),
            '</span>\n    <strong class="title">',
            escape(environment.getattr(l_1_f, 'title')),
            '</strong>\n    <span class="kind">',
            escape(environment.getattr(l_1_f, 'kind')),
            '</span>\n',
        ))
        if environment.getattr(l_1_f, 'impact'):
            pass
            t_8.extend((
                '<span class="impact" title="seconds lost &times; flows affected">impact ',
                escape(t_6(environment.getattr(l_1_f, 'impact'))),
                '</span>',
            ))
        t_8.extend((
            '  </header>\n  <p class="detail">',
            escape(t_4(environment.getattr(l_1_f, 'detail'))),
            '</p>\n',
        ))
        if environment.getattr(l_1_f, 'recommendation'):
            pass
            t_8.extend((
                '<p class="rec"><span class="rec-k">What to change:</span> ',
                escape(t_4(environment.getattr(l_1_f, 'recommendation'))),
                '</p>',
            ))
        t_8.append(
            '  <p class="where">\n',
        )
        if environment.getattr(l_1_f, 'endpoint'):
            pass
            t_8.extend((
                'Endpoint <span class="mono">',
                escape(environment.getattr(l_1_f, 'endpoint')),
                '</span>. ',
            ))
        if environment.getattr(l_1_f, 'flows'):
            pass
            t_8.append(
                'Flows:\n',
            )
            l_2_loop = missing
            for l_2_fl, l_2_loop in LoopContext(environment.getattr(l_1_f, 'flows'), undefined):
                _loop_vars = {}
                pass
                t_8.append(
                    '<a href="',
                )
                if environment.getattr(l_2_fl, 'detailed'):
                    pass
                    t_8.extend((
                        '#flow-',
                        escape(environment.getattr(l_2_fl, 'id')),
                    ))
                else:
                    pass
                    t_8.extend((
                        '#row-',
                        escape(environment.getattr(l_2_fl, 'id')),
                    ))
                t_8.extend((
                    '">',
                    escape(environment.getattr(l_2_fl, 'id')),
                    '</a>',
                ))
                if (not environment.getattr(l_2_loop, 'last')):
                    pass
                    t_8.append(
                        ', ',
                    )
            l_2_loop = l_2_fl = missing
            if environment.getattr(l_1_f, 'more_flows'):
                pass
                t_8.extend((
                    ' and ',
                    escape(environment.getattr(l_1_f, 'more_flows')),
                    ' more',
                ))
            t_8.append(
                '.\n',
            )
        if l_1_compact:
            pass
            t_8.extend((
                '<a href="#finding-',
                escape(environment.getattr(l_1_f, 'id')),
                '">evidence&hellip;</a>',
            ))
        if (l_1_compact and environment.getattr(l_1_f, 'similar')):
            pass
            t_8.extend((
                '<br><a href="#similar-',
                escape(environment.getattr(l_1_f, 'kind')),
                '">+ ',
                escape(environment.getattr(l_1_f, 'similar')),
                ' more ',
                escape(environment.getattr(l_1_f, 'kind')),
                ' finding',
                escape(('s' if (environment.getattr(l_1_f, 'similar') > 1) else cond_expr_undefined("the inline if-expression on line 18 in 'macros.j2' evaluated to false and no else section was defined."))),
                '</a> (other flows or endpoints)',
            ))
        t_8.append(
            '  </p>\n',
        )
        if ((not l_1_compact) and environment.getattr(l_1_f, 'metrics')):
            pass
            t_8.append(
                '  <dl class="metrics">\n',
            )
            for (l_2_k, l_2_v) in environment.getattr(l_1_f, 'metrics'):
                _loop_vars = {}
                pass
                t_8.extend((
                    '<div><dt>',
                    escape(l_2_k),
                    '</dt><dd>',
                    escape(l_2_v),
                    '</dd></div>',
                ))
            l_2_k = l_2_v = missing
            t_8.append(
                '  </dl>\n',
            )
        t_8.append(
            '</article>\n',
        )
        return concat(t_8)
    context.exported_vars.add('finding_card')
    context.vars['finding_card'] = l_0_finding_card = Macro(environment, macro, 'finding_card', ('f', 'compact'), False, False, False, context.eval_ctx.autoescape)
    yield '\n'
    def macro(l_1_eps):
        t_9 = []
        if l_1_eps is missing:
            l_1_eps = undefined("parameter 'eps' was not provided", name='eps')
        pass
        t_9.append(
            '<table class="small eps">\n  <thead><tr><th>Endpoint</th><th class="r">Packets</th><th class="r">Payload</th><th class="r">MSS</th><th class="r">WScale</th><th>SACK</th><th>TS</th><th>Congestion control</th><th>Flags counted (sent by it)</th></tr></thead>\n  <tbody>\n',
        )
        l_2_loop = missing
        for l_2_e, l_2_loop in LoopContext(l_1_eps, undefined):
            _loop_vars = {}
            pass
            t_9.extend((
                '  <tr>\n    <td><span class="role">',
                escape(environment.getattr(l_2_e, 'role')),
                '</span> <span class="mono">',
                escape(environment.getattr(l_2_e, 'addr')),
                '</span></td>\n    <td class="r">',
                escape(t_3(environment.getattr(l_2_e, 'packets'))),
                '</td><td class="r">',
                escape(t_1(environment.getattr(l_2_e, 'payload'))),
                '</td>\n    <td class="r">',
                escape((environment.getattr(l_2_e, 'mss') if (not t_7(environment.getattr(l_2_e, 'mss'))) else '–')),
                '</td>\n    <td class="r',
            ))
            if t_7(environment.getattr(l_2_e, 'wscale')):
                pass
                t_9.append(
                    ' hot',
                )
            t_9.extend((
                '">',
                escape((environment.getattr(l_2_e, 'wscale') if (not t_7(environment.getattr(l_2_e, 'wscale'))) else 'off')),
                '</td>\n    <td',
            ))
            if (not environment.getattr(l_2_e, 'sack')):
                pass
                t_9.append(
                    ' class="hot"',
                )
            t_9.extend((
                '>',
                escape(('yes' if environment.getattr(l_2_e, 'sack') else 'no')),
                '</td>\n    <td>',
                escape(('yes' if environment.getattr(l_2_e, 'ts') else 'no')),
                '</td>\n    <td>',
                escape((environment.getattr(l_2_e, 'cca_text') or '–')),
                '</td>\n    <td class="counters">',
            ))
            l_3_loop = missing
            for (l_3_k, l_3_v), l_3_loop in LoopContext(environment.getattr(l_2_e, 'counters'), undefined):
                _loop_vars = {}
                pass
                t_9.extend((
                    escape(l_3_k),
                    '&nbsp;',
                    escape(t_3(l_3_v)),
                ))
                if (not environment.getattr(l_3_loop, 'last')):
                    pass
                    t_9.append(
                        ', ',
                    )
            l_3_loop = l_3_k = l_3_v = missing
            t_9.append(
                '</td>\n  </tr>\n',
            )
        l_2_loop = l_2_e = missing
        t_9.append(
            '  </tbody>\n</table>\n',
        )
        return concat(t_9)
    context.exported_vars.add('endpoint_table')
    context.vars['endpoint_table'] = l_0_endpoint_table = Macro(environment, macro, 'endpoint_table', ('eps',), False, False, False, context.eval_ctx.autoescape)
    yield '\n'
    def macro(l_1_d):
        t_10 = []
        if l_1_d is missing:
            l_1_d = undefined("parameter 'd' was not provided", name='d')
        pass
        t_10.extend((
            '<article class="flow sev-',
            escape(environment.getattr(l_1_d, 'severity')),
            '" id="flow-',
            escape(environment.getattr(l_1_d, 'id')),
            '">\n  <header>\n    <h3>Flow ',
            escape(environment.getattr(l_1_d, 'id')),
            ': <span class="mono">',
            escape(environment.getattr(l_1_d, 'client')),
            '</span> &rarr; <span class="mono">',
            escape(environment.getattr(l_1_d, 'server')),
            '</span></h3>\n    <span class="badge sev-',
            escape(environment.getattr(l_1_d, 'severity')),
            '">',
            escape((environment.getattr(l_1_d, 'severity') if (environment.getattr(l_1_d, 'severity') != 'none') else 'no finding')),
            '</span>\n    <span class="muted">shown because: ',
            escape(environment.getattr(l_1_d, 'why')),
            '</span>\n  </header>\n  <p class="flowfacts">\n    ',
            escape(t_5(environment.getattr(l_1_d, 'start'))),
            ' &ndash; ',
            escape(t_5(environment.getattr(l_1_d, 'end'))),
            ' (',
            escape(t_6(environment.getattr(l_1_d, 'duration'))),
            '); state ',
            escape(environment.getattr(l_1_d, 'state')),
            '; ',
            escape(environment.getattr(l_1_d, 'handshake')),
            ' handshake',
        ))
        if (not t_7(environment.getattr(l_1_d, 'syn_rtt'))):
            pass
            t_10.extend((
                ', handshake RTT ',
                escape(t_6(environment.getattr(l_1_d, 'syn_rtt'))),
            ))
        if (not t_7(environment.getattr(environment.getattr(l_1_d, 'rtt'), 'median'))):
            pass
            t_10.extend((
                '; RTT min/median/max ',
                escape(t_6(environment.getattr(environment.getattr(l_1_d, 'rtt'), 'min'))),
                ' / ',
                escape(t_6(environment.getattr(environment.getattr(l_1_d, 'rtt'), 'median'))),
                ' / ',
                escape(t_6(environment.getattr(environment.getattr(l_1_d, 'rtt'), 'max'))),
                ' (',
                escape(t_3(environment.getattr(environment.getattr(l_1_d, 'rtt'), 'samples'))),
                ' samples)',
            ))
        if environment.getattr(l_1_d, 'stalled'):
            pass
            t_10.extend((
                '; <strong>stalled ',
                escape(t_6(environment.getattr(l_1_d, 'stalled'))),
                '</strong>',
            ))
        t_10.append(
            '.\n  </p>\n',
        )
        if environment.getattr(l_1_d, 'wireshark'):
            pass
            t_10.extend((
                '<p class="ws muted">Wireshark display filter: <code class="copy">',
                escape(environment.getattr(l_1_d, 'wireshark')),
                '</code></p>',
            ))
        if environment.getattr(l_1_d, 'findings'):
            pass
            t_10.append(
                '  <ul class="flowfindings">\n',
            )
            for (l_2_fid, l_2_sev, l_2_title) in environment.getattr(l_1_d, 'findings'):
                _loop_vars = {}
                pass
                t_10.extend((
                    '<li><a class="badge sev-',
                    escape(l_2_sev),
                    '" href="#finding-',
                    escape(l_2_fid),
                    '">',
                    escape(l_2_fid),
                    '</a> ',
                    escape(l_2_title),
                    '</li>',
                ))
            l_2_fid = l_2_sev = l_2_title = missing
            t_10.append(
                '  </ul>\n',
            )
        t_10.extend((
            '  ',
            escape(context.call((undefined(name='endpoint_table') if l_0_endpoint_table is missing else l_0_endpoint_table), environment.getattr(l_1_d, 'endpoints'))),
            '\n\n',
        ))
        for l_2_dir in environment.getattr(l_1_d, 'directions'):
            _loop_vars = {}
            pass
            t_10.extend((
                '  <h4>Data ',
                escape(environment.getattr(l_2_dir, 'sender')),
                ' &rarr; ',
                escape(environment.getattr(l_2_dir, 'receiver')),
            ))
            if (not t_7(environment.getattr(l_2_dir, 'payload'))):
                pass
                t_10.extend((
                    ': ',
                    escape(t_1(environment.getattr(l_2_dir, 'payload'))),
                    ' in ',
                    escape(t_3(environment.getattr(l_2_dir, 'segments'))),
                    ' segments',
                ))
            t_10.append(
                '</h4>\n',
            )
            if environment.getattr(l_2_dir, 'downsampled'):
                pass
                t_10.append(
                    '<p class="note">Long series: the charts keep, per slice of time, the lowest and highest points and every marked event',
                )
                if (environment.getattr(l_2_dir, 'marks_shown') < environment.getattr(l_2_dir, 'marks_total')):
                    pass
                    t_10.extend((
                        ' (here ',
                        escape(t_3(environment.getattr(l_2_dir, 'marks_shown'))),
                        ' of ',
                        escape(t_3(environment.getattr(l_2_dir, 'marks_total'))),
                        ' marked segments, evenly thinned)',
                    ))
                t_10.append(
                    '. Zoom in with the mouse; use <code>tcpforensics events</code> for every segment.</p>',
                )
            for l_3_c in environment.getattr(l_2_dir, 'charts'):
                _loop_vars = {}
                pass
                t_10.extend((
                    '    <div class="chart" id="',
                    escape(l_3_c),
                    '" data-fig="',
                    escape(l_3_c),
                    '"></div>\n',
                ))
                if (context.call(environment.getattr(l_3_c, 'endswith'), '-inflight', _loop_vars=_loop_vars) and (environment.getattr(l_2_dir, 'vantage') == 'receiver')):
                    pass
                    t_10.append(
                        '<p class="how">Captured near the receiver: the per-segment bytes in flight are what this vantage point sees, not the sender\'s; the cwnd estimate comes from the data delivered per round trip.</p>',
                    )
                if context.call(environment.getattr(l_3_c, 'endswith'), '-tsg', _loop_vars=_loop_vars):
                    pass
                    t_10.append(
                        '<p class="how">How to read: each blue bar is a segment from its first to its last byte; the green step is the receiver\'s cumulative ACK, the dotted line the right edge of its advertised window. Segments far above the green line are in flight; a flat green line with segments repeating at the same height is loss and retransmission; the blue bars touching the dotted line mean the receiver\'s window is the limit. Shaded bands are stalls.</p>',
                    )
            l_3_c = missing
            if (environment.getattr(l_2_dir, 'cca') and environment.getattr(environment.getattr(l_2_dir, 'cca'), 'cca')):
                pass
                t_10.extend((
                    '  <div class="cca">\n    <strong>Congestion control of ',
                    escape(environment.getattr(l_2_dir, 'sender')),
                    ':</strong> ',
                    escape(environment.getattr(environment.getattr(l_2_dir, 'cca'), 'cca_text')),
                ))
                if environment.getattr(l_2_dir, 'vantage'):
                    pass
                    t_10.extend((
                        ' <span class="muted">(capture vantage: ',
                        escape(environment.getattr(l_2_dir, 'vantage')),
                        ')</span>',
                    ))
                if environment.getattr(environment.getattr(l_2_dir, 'cca'), 'cca_why'):
                    pass
                    t_10.extend((
                        '<p class="why">',
                        escape(environment.getattr(environment.getattr(l_2_dir, 'cca'), 'cca_why')),
                        '</p>',
                    ))
                if environment.getattr(environment.getattr(l_2_dir, 'cca'), 'evidence'):
                    pass
                    t_10.append(
                        '    <dl class="metrics">',
                    )
                    for (l_3_k, l_3_v) in environment.getattr(environment.getattr(l_2_dir, 'cca'), 'evidence'):
                        _loop_vars = {}
                        pass
                        t_10.extend((
                            '<div><dt>',
                            escape(l_3_k),
                            '</dt><dd>',
                            escape(l_3_v),
                            '</dd></div>',
                        ))
                    l_3_k = l_3_v = missing
                    t_10.append(
                        '</dl>\n',
                    )
                t_10.append(
                    '  </div>\n',
                )
            if environment.getattr(l_2_dir, 'loss_epochs'):
                pass
                t_10.extend((
                    '  <details class="epochs"><summary>Loss epochs (',
                    escape(t_2(environment.getattr(l_2_dir, 'loss_epochs'))),
                    '): window before and after each loss</summary>\n    <table class="small">\n      <thead><tr>',
                ))
                for l_3_k in context.call(environment.getattr(environment.getitem(environment.getattr(l_2_dir, 'loss_epochs'), 0), 'keys'), _loop_vars=_loop_vars):
                    _loop_vars = {}
                    pass
                    t_10.extend((
                        '<th>',
                        escape(l_3_k),
                        '</th>',
                    ))
                l_3_k = missing
                t_10.append(
                    '</tr></thead>\n      <tbody>',
                )
                for l_3_row in environment.getattr(l_2_dir, 'loss_epochs'):
                    _loop_vars = {}
                    pass
                    t_10.append(
                        '<tr>',
                    )
                    for l_4_k in context.call(environment.getattr(environment.getitem(environment.getattr(l_2_dir, 'loss_epochs'), 0), 'keys'), _loop_vars=_loop_vars):
                        _loop_vars = {}
                        pass
                        t_10.extend((
                            '<td>',
                            escape(context.call(environment.getattr(l_3_row, 'get'), l_4_k, '', _loop_vars=_loop_vars)),
                            '</td>',
                        ))
                    l_4_k = missing
                    t_10.append(
                        '</tr>',
                    )
                l_3_row = missing
                t_10.append(
                    '</tbody>\n    </table>\n  </details>\n',
                )
        l_2_dir = missing
        t_10.append(
            '\n  <h4>States and stalls</h4>\n',
        )
        if environment.getattr(l_1_d, 'stall_kinds'):
            pass
            t_10.append(
                '<p class="stallsum">Time stalled, by cause: ',
            )
            l_2_loop = missing
            for l_2_k, l_2_loop in LoopContext(environment.getattr(l_1_d, 'stall_kinds'), undefined):
                _loop_vars = {}
                pass
                t_10.extend((
                    '<span class="swatch stall-',
                    escape(environment.getattr(l_2_k, 'kind')),
                    '"></span>',
                    escape(environment.getattr(l_2_k, 'label')),
                    ' ',
                    escape(t_6(environment.getattr(l_2_k, 'seconds'))),
                    ' (',
                    escape(t_3(environment.getattr(l_2_k, 'count'))),
                    ')',
                ))
                if (not environment.getattr(l_2_loop, 'last')):
                    pass
                    t_10.append(
                        '; ',
                    )
            l_2_loop = l_2_k = missing
            t_10.append(
                '.</p>',
            )
        t_10.extend((
            '  <div class="chart" id="',
            escape(environment.getattr(l_1_d, 'timeline')),
            '" data-fig="',
            escape(environment.getattr(l_1_d, 'timeline')),
            '"></div>\n  <div class="two">\n    <div>\n      <table class="small states">\n        <thead><tr><th>Time</th><th>Endpoint</th><th>New state</th></tr></thead>\n        <tbody>',
        ))
        for l_2_s in environment.getattr(l_1_d, 'states'):
            _loop_vars = {}
            pass
            t_10.extend((
                '<tr><td class="r">',
                escape(t_5(environment.getattr(l_2_s, 't'))),
                '</td><td>',
                escape(environment.getattr(l_2_s, 'who')),
                '</td><td>',
                escape(environment.getattr(l_2_s, 'state')),
                '</td></tr>',
            ))
        l_2_s = missing
        if environment.getattr(l_1_d, 'more_states'):
            pass
            t_10.extend((
                '<tr><td colspan="3" class="muted">&hellip; ',
                escape(environment.getattr(l_1_d, 'more_states')),
                ' more</td></tr>',
            ))
        if (not environment.getattr(l_1_d, 'states')):
            pass
            t_10.append(
                '<tr><td colspan="3" class="muted">no state changes recorded</td></tr>',
            )
        t_10.append(
            '</tbody>\n      </table>\n    </div>\n    <div>\n      <table class="small stalls">\n        <thead><tr><th>Stall (longest first)</th><th>Endpoint waiting</th><th class="r">Start</th><th class="r">Duration</th></tr></thead>\n        <tbody>',
        )
        for l_2_s in environment.getattr(l_1_d, 'stalls'):
            _loop_vars = {}
            pass
            t_10.extend((
                '<tr><td><span class="swatch stall-',
                escape(environment.getattr(l_2_s, 'kind')),
                '"></span>',
                escape(environment.getattr(l_2_s, 'label')),
                '</td><td class="mono">',
                escape(environment.getattr(l_2_s, 'endpoint')),
                '</td><td class="r">',
                escape(t_5(environment.getattr(l_2_s, 'start'))),
                '</td><td class="r">',
                escape(t_6(environment.getattr(l_2_s, 'duration'))),
                '</td></tr>',
            ))
        l_2_s = missing
        if environment.getattr(l_1_d, 'more_stalls'):
            pass
            t_10.extend((
                '<tr><td colspan="4" class="muted">&hellip; ',
                escape(environment.getattr(l_1_d, 'more_stalls')),
                ' more</td></tr>',
            ))
        if (not environment.getattr(l_1_d, 'stalls')):
            pass
            t_10.append(
                '<tr><td colspan="4" class="muted">no stalls</td></tr>',
            )
        t_10.append(
            '</tbody>\n      </table>\n    </div>\n  </div>\n',
        )
        if environment.getattr(l_1_d, 'tcp'):
            pass
            t_10.append(
                '  <details class="tcpfacts"><summary>TCP facts used by the diagnosis</summary>\n    <dl class="metrics">',
            )
            for (l_2_k, l_2_v) in environment.getattr(l_1_d, 'tcp'):
                _loop_vars = {}
                pass
                t_10.extend((
                    '<div><dt>',
                    escape(l_2_k),
                    '</dt><dd>',
                    escape(l_2_v),
                    '</dd></div>',
                ))
            l_2_k = l_2_v = missing
            t_10.append(
                '</dl>\n  </details>\n',
            )
        t_10.extend((
            '  <p class="muted"><a href="#row-',
            escape(environment.getattr(l_1_d, 'id')),
            '">back to the flow table</a></p>\n</article>\n',
        ))
        return concat(t_10)
    context.exported_vars.add('flow_detail')
    context.vars['flow_detail'] = l_0_flow_detail = Macro(environment, macro, 'flow_detail', ('d',), False, False, False, context.eval_ctx.autoescape)

blocks = {}
debug_info = '1=54&2=63&4=75&5=79&6=81&7=83&8=86&10=95&11=98&13=108&14=115&15=121&17=160&18=167&20=183&22=188&28=209&32=218&34=223&35=227&36=231&37=234&38=244&39=253&40=255&41=259&48=284&49=291&51=295&52=301&53=305&56=307&58=347&59=354&61=359&64=379&66=382&67=387&68=403&69=420&70=425&71=430&72=435&74=441&76=445&77=456&78=463&79=468&83=485&84=489&86=492&87=504&94=530&95=561&100=566&101=579&102=586&108=594&109=611&110=618&114=626&116=631&119=647'
